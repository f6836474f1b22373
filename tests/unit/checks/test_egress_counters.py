"""Reading the egress guard's counters, on real iptables listings (tests/fixtures/iptables/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.checks.egress_counters import dropped_packets, main, parse_chain

REPO = Path(__file__).resolve().parents[3]
LISTINGS = REPO / "tests" / "fixtures" / "iptables"
SCRIPT = REPO / "tests" / "checks" / "egress_counters.py"


def test_a_fresh_chain_counts_nothing() -> None:
    parsed = parse_chain((LISTINGS / "lab-v4-zero.txt").read_text())
    assert parsed["chain"] == "HSLAB-EGRESS"
    assert [rule["target"] for rule in parsed["rules"]] == ["RETURN", "LOG", "DROP"]
    assert dropped_packets((LISTINGS / "lab-v4-zero.txt").read_text()) == 0


def test_a_dropped_packet_is_counted_and_redirected_dns_is_not() -> None:
    text = (LISTINGS / "control-v4-after-one-drop.txt").read_text()
    rules = parse_chain(text)["rules"]
    assert rules[0]["target"] == "RETURN" and rules[0]["pkts"] == 2  # two DNS queries, let through
    assert dropped_packets(text) == 1
    assert rules[-1]["bytes"] == 29  # one 1-byte UDP payload: 20 IP + 8 UDP + 1


def test_ipv6_listing() -> None:
    text = (LISTINGS / "control-v6-zero.txt").read_text()
    assert [rule["target"] for rule in parse_chain(text)["rules"]] == ["LOG", "DROP"]
    assert dropped_packets(text) == 0


def test_jump_targets_are_not_drops() -> None:
    text = (LISTINGS / "output-chain-v4.txt").read_text()
    assert {rule["target"] for rule in parse_chain(text)["rules"]} == {"HSLAB-EGRESS", "HSLABCTL-EGRESS"}
    assert dropped_packets(text) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ((LISTINGS / "lab-v4-without-v.txt").read_text(), "no 'pkts bytes target' header"),
        ("", "not an iptables chain listing"),
        ("iptables: No chain/target/match by that name.\n", "not an iptables chain listing"),
        ((LISTINGS / "lab-v4-zero.txt").read_text() + (LISTINGS / "control-v6-zero.txt").read_text(),
         "more than one chain"),
        ((LISTINGS / "lab-v4-zero.txt").read_text().replace("       0        0 DROP", "      1K      2M DROP"),
         "cannot read the counters"),
    ],
    ids=["without-v", "empty", "error-text", "two-chains", "not-exact"],
)
def test_anything_but_a_listing_raises(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dropped_packets(text)


def test_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(LISTINGS / "lab-v4-zero.txt")]) == 0
    assert capsys.readouterr().out == "0\n"
    dirty = subprocess.run([sys.executable, str(SCRIPT), "-"],
                           input=(LISTINGS / "control-v4-after-one-drop.txt").read_text(),
                           capture_output=True, text=True, check=False)
    assert (dirty.returncode, dirty.stdout) == (1, "1\n")
    bad = subprocess.run([sys.executable, str(SCRIPT), str(LISTINGS / "lab-v4-without-v.txt")],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "header" in bad.stderr
