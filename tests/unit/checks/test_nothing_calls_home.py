"""The shared nothing-calls-home check, on real logs recorded from tailscaled and headscale.

Recordings: tests/fixtures/logs/ (tests/fixtures/logs/record_tailscaled_logs.py). The
positive sample is a tailscaled 1.102.3 started WITHOUT --no-logs-no-support against a
loopback headscale: it tries log.tailscale.com and bootstrap DNS via derp*.tailscale.com.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.checks.nothing_calls_home import find_calls_home, main

REPO = Path(__file__).resolve().parents[3]
LOGS = REPO / "tests" / "fixtures" / "logs"
CHECK = REPO / "tests" / "checks" / "nothing_calls_home.py"
WITHOUT_FLAG = LOGS / "tailscale-1.102.3" / "without-no-logs-no-support.log"
WITH_FLAG = LOGS / "tailscale-1.102.3" / "with-no-logs-no-support.log"
HEADSCALE_LOGS = sorted(LOGS.glob("headscale-*/serve.log"))


def test_tailscaled_without_no_logs_flag_is_caught() -> None:
    text = WITHOUT_FLAG.read_text()
    found = find_calls_home(text)
    assert found, "the recording without --no-logs-no-support must show calls home"
    joined = "\n".join(found)
    assert 'logtail: dial "log.tailscale.com:443" failed' in joined
    assert "bootstrapDNS(\"derp" in joined
    # Every line that names a tailscale host in this recording is a real attempt.
    naming = [line for line in text.splitlines() if ".tailscale.com" in line or "tailscale.io" in line]
    assert found == naming


def test_tailscaled_with_no_logs_flag_is_clean() -> None:
    text = WITH_FLAG.read_text()
    assert "--no-logs-no-support" in text  # the recording really is the flagged one
    assert "tls: first record does not look like a TLS handshake" in text  # DERP over plain http: noise
    assert find_calls_home(text) == []


@pytest.mark.parametrize("path", HEADSCALE_LOGS, ids=[p.parent.name for p in HEADSCALE_LOGS])
def test_headscale_logs_with_go_package_paths_are_clean(path: Path) -> None:
    text = path.read_text()
    assert "github.com/juanfont/headscale@v" in text  # caller fields name Go packages
    assert find_calls_home(text) == []


def test_headscale_recordings_exist_for_default_versions() -> None:
    assert {p.parent.name for p in HEADSCALE_LOGS} >= {"headscale-0.26.1", "headscale-0.29.3"}


@pytest.mark.parametrize(
    "line",
    [
        # update checks and downloads
        'Get "https://api.github.com/repos/juanfont/headscale/releases/latest": dial tcp: i/o timeout',
        "fetching https://pkgs.tailscale.com/stable/debian/bookworm.noarmor.gpg",
        "control: trying to reach controlplane.tailscale.com:443",
        "netcheck: lookup derp1.tailscale.com: no such host",
        "DNS lookup of login.tailscale.com failed",
        "connecting to tailscale.io",
        "dial tcp: lookup github.com on 127.0.0.53:53: server misbehaving",
        "git clone https://github.com/juanfont/headscale",
    ],
)
def test_other_forbidden_hosts_are_caught(line: str) -> None:
    assert find_calls_home(line) == [line]


@pytest.mark.parametrize(
    "line",
    [
        "panic: runtime error\n\tgithub.com/juanfont/headscale/hscontrol.(*Headscale).Serve(...)",
        "goroutine 1 [running]: tailscale.com/ipn/ipnlocal.(*LocalBackend).Start",
        "module tailscale.com@v1.102.3 built with go1.26.8",
        "server_url is https://headscale.tailscale.company.test",  # a longer label, not tailscale.com
        "login server http://127.0.0.1:8080",
    ],
)
def test_go_paths_and_lookalikes_are_not_calls(line: str) -> None:
    assert find_calls_home(line) == []


# One test per form that used to slip past the patterns (issue 7).
def test_public_ipv4_dialled_with_a_port_is_caught() -> None:
    line = "dial tcp 8.8.8.8:443: connect: network is unreachable"
    assert find_calls_home(line) == [line]


def test_public_ipv4_after_an_arrow_is_caught() -> None:
    line = "magicsock: disco: node [abc] sent ping \u2192 1.2.3.4:41641"
    assert find_calls_home(line) == [line]
    plain = "magicsock: sending to 1.2.3.4"  # no port, after "to"
    assert find_calls_home(plain) == [plain]


def test_public_ip_in_a_url_is_caught() -> None:
    line = 'Get "http://8.8.4.4/generate_204": context deadline exceeded'
    assert find_calls_home(line) == [line]


def test_public_ipv6_is_caught_bracketed_or_after_dial() -> None:
    bracketed = "dial udp [2606:4700::1111]:53: connect: network is unreachable"
    assert find_calls_home(bracketed) == [bracketed]
    bare = "netcheck: connecting to 2606:4700::1111"
    assert find_calls_home(bare) == [bare]


def test_upper_case_names_are_caught() -> None:
    line = "control: dial CONTROLPLANE.TAILSCALE.COM:443"
    assert find_calls_home(line) == [line]
    mixed = "logtail: upload to Log.Tailscale.Io failed"
    assert find_calls_home(mixed) == [mixed]


def test_ghcr_io_is_caught() -> None:
    line = "pulling ghcr.io/juanfont/headscale:0.26.1"
    assert find_calls_home(line) == [line]


def test_pkgs_tailscale_com_without_scheme_is_caught() -> None:
    line = "apt: fetching pkgs.tailscale.com/stable/debian/bookworm.noarmor.gpg"
    assert find_calls_home(line) == [line]


def test_derp_host_path_without_scheme_is_caught() -> None:
    line = "derphttp.Client.Connect: connecting to derp1.tailscale.com/derp"
    assert find_calls_home(line) == [line]


@pytest.mark.parametrize(
    "line",
    [
        "dial tcp 127.0.0.1:8080: connect: connection refused",  # loopback
        "dial tcp [::1]:8080",
        "magicsock: endpoints changed: 198.51.100.7:41641 (stun)",  # lab ranges
        "route to 198.19.0.10:80 via 198.18.0.1",
        "peer 100.64.0.2:80 -> [fd7a:115c:a1e0::2]:443",
        "disco: ping [fe80::1%eth0]:41641",  # link-local
        "dial udp 169.254.169.254:80",
        "resolver 10.255.255.53:53",  # private
        "portmapper: UPnP discovery 239.255.255.250:1900",  # multicast, not a home server
        "tailscale version 1.102.3, go1.26.8",  # versions are not addresses
        "built from v1.2.3.4:5",
        "2026/11/30 11:05:52 logtail started",
        "counted 8.8.8.8 times",  # no port, no URL, no dial: not an address in use
    ],
)
def test_local_lab_and_non_address_numbers_are_not_calls(line: str) -> None:
    assert find_calls_home(line) == []


def test_cli_exit_codes_and_labels(tmp_path: Path) -> None:
    clean = subprocess.run([sys.executable, str(CHECK), str(WITH_FLAG), *map(str, HEADSCALE_LOGS)],
                           capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout == ""

    dirty = subprocess.run([sys.executable, str(CHECK), "--label", "tailscaled", "-"],
                           input=WITHOUT_FLAG.read_text(), capture_output=True, text=True, check=False)
    assert dirty.returncode == 1
    lines = dirty.stdout.splitlines()
    assert lines and all(line.startswith("tailscaled: ") for line in lines)
    assert "line(s) show an attempt to reach the internet" in dirty.stderr

    missing = subprocess.run([sys.executable, str(CHECK), str(tmp_path / "absent.log")],
                             capture_output=True, text=True, check=False)
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr


def test_main_labels_lines_with_the_file_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "journal.txt"
    log.write_text("ok line\nlogtail: dial \"log.tailscale.com:443\" failed\n")
    assert main([str(log)]) == 1
    assert capsys.readouterr().out == f'{log}: logtail: dial "log.tailscale.com:443" failed\n'
