"""Bad input to the tailscale_client role fails first, naming the variable, before anything changes.

Each case runs the real role with ansible-playbook against a throw-away Debian 12 container
of the test bed (``selfhosted-testbed/debian:12``, no network, systemd as PID 1; the
community.docker.docker connection) and reads the json callback's result: the run must fail
in argument validation or in a named preflight check, the message must name the variable,
and the host must report no change. The control runs the same checks (tag
``tailscale_client_preflight``) with good input and must pass them without a change; a
second control without the tag shows the role then goes on to change the host.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import roles
from harness.roles import failures, run_role

REPO = Path(__file__).resolve().parents[2]

GOOD = {
    "tailscale_client_install_method": "static",
    "tailscale_client_version": "1.102.3",
    "tailscale_client_binary_src": str(REPO / ".testbed/bin/tailscale-1.102.3-amd64"),
    "tailscale_client_login_server": "https://hs.example.test",
    "tailscale_client_advertise_routes": ["198.18.1.0/24", "fd00:1::/64"],
    "tailscale_client_advertise_tags": ["tag:router"],
    "tailscale_client_exit_node": "",
}


@pytest.fixture(scope="module")
def debian12() -> Iterator[str]:
    with roles.debian12("hs-clinput", "test_client_role_input", systemd=True) as name:
        yield name


CASES = [
    # id, extra vars, failing task (substring), variable named in the message
    ("unknown-architecture", {"tailscale_client_arch": "mips"},
     "Validating arguments", "tailscale_client_arch"),
    ("route-not-canonical", {"tailscale_client_advertise_routes": ["198.18.1.1/24"]},
     "Stop on a route that is no canonical CIDR prefix", "tailscale_client_advertise_routes"),
    ("route-prefix-too-long", {"tailscale_client_advertise_routes": ["198.18.1.0/33"]},
     "Stop on a route that is no canonical CIDR prefix", "tailscale_client_advertise_routes"),
    ("route-not-a-prefix", {"tailscale_client_advertise_routes": ["lan"]},
     "Stop on a route that is no canonical CIDR prefix", "tailscale_client_advertise_routes"),
    ("route-ipv6-not-canonical", {"tailscale_client_advertise_routes": ["fd00:1::1/64"]},
     "Stop on a route that is no canonical CIDR prefix", "tailscale_client_advertise_routes"),
    ("login-server-not-a-url", {"tailscale_client_login_server": "hs.example.test"},
     "Check tailscale_client_login_server is headscale's URL", "tailscale_client_login_server"),
    ("tag-without-prefix", {"tailscale_client_advertise_tags": ["router"]},
     "Check tailscale_client_advertise_tags are tags", "tailscale_client_advertise_tags"),
    ("lan-access-without-exit-node", {"tailscale_client_exit_node_allow_lan_access": True},
     "Check the exit node settings", "tailscale_client_exit_node_allow_lan_access"),
    ("unknown-state", {"tailscale_client_state": "gone"},
     "Validating arguments", "tailscale_client_state"),
    ("unknown-login", {"tailscale_client_login": "browser"},
     "Validating arguments", "tailscale_client_login"),
    ("login-user-with-key-login", {"tailscale_client_login_user": "ops", "tailscale_client_auth_key_server": "hs"},
     "Check the interactive login settings", "tailscale_client_login_user"),
    ("login-user-without-server", {"tailscale_client_login": "interactive", "tailscale_client_login_user": "ops"},
     "Check the interactive login settings", "tailscale_client_auth_key_server"),
    ("interactive-with-auth-key", {"tailscale_client_login": "interactive", "tailscale_client_auth_key": "k" * 48},
     "Check the interactive login settings", "tailscale_client_auth_key"),
    # Values with a format, one class after the other. Before these checks the ones marked
    # "slipped" passed every preflight check: the role installed and started tailscaled, then
    # failed in the download or in `tailscale up` (or not at all).
    ("login-server-other-scheme", {"tailscale_client_login_server": "ftp://hs.example.test"},
     "Check tailscale_client_login_server is headscale's URL", "tailscale_client_login_server"),
    ("login-server-port-out-of-range", {"tailscale_client_login_server": "https://hs.example.test:99999"},  # slipped
     "Check tailscale_client_login_server is headscale's URL", "tailscale_client_login_server"),
    ("login-server-with-path", {"tailscale_client_login_server": "https://hs.example.test/headscale"},  # slipped
     "Check tailscale_client_login_server is headscale's URL", "tailscale_client_login_server"),
    ("version-with-v", {"tailscale_client_version": "v1.102.3"},  # slipped
     "Check tailscale_client_version", "tailscale_client_version"),
    ("version-latest", {"tailscale_client_version": "latest"},  # slipped
     "Check tailscale_client_version", "tailscale_client_version"),
    ("hostname-invalid-characters", {"tailscale_client_hostname": "my_host!"},  # slipped
     "Check tailscale_client_hostname", "tailscale_client_hostname"),
    ("hostname-label-too-long", {"tailscale_client_hostname": "h" * 64},  # slipped
     "Check tailscale_client_hostname", "tailscale_client_hostname"),
    ("route-default-route", {"tailscale_client_advertise_routes": ["0.0.0.0/0"]},
     "Stop on a route that is no canonical CIDR prefix", "tailscale_client_advertise_routes"),
    ("port-out-of-range", {"tailscale_client_port": 70000},  # slipped
     "Check tailscale_client_port", "tailscale_client_port"),
]


@pytest.mark.parametrize(("extra_vars", "task", "variable"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_input_fails_first(debian12: str, extra_vars: dict[str, Any], task: str, variable: str) -> None:
    document = run_role(debian12, "tailscale_client", {**GOOD, **extra_vars})
    stats = document["stats"][debian12]
    assert stats["changed"] == 0, f"the failing run changed something: {stats}"
    found = failures(document, debian12)
    assert found, f"the run did not fail: {stats}"
    failed_task, message = found[0]
    assert task in failed_task, f"failed in {failed_task!r}: {message}"
    assert variable in message, f"the message does not name {variable}: {message}"


def test_good_input_passes_the_checks(debian12: str) -> None:
    """Control: good input passes every preflight check, without a change."""
    document = run_role(debian12, "tailscale_client", GOOD, tags="tailscale_client_preflight")
    assert failures(document, debian12) == []
    stats = document["stats"][debian12]
    assert stats["changed"] == 0 and stats["ok"] > 3, stats


def test_good_input_installs_then_state_absent_removes(debian12: str) -> None:
    """Control of the control: without the tag the same input changes the host (install only:
    no enrolment, tailscaled stopped; nothing to reach here). Then state absent removes what
    the role installed, and a second absent run changes nothing."""
    install = {**GOOD, "tailscale_client_advertise_routes": [], "tailscale_client_enrol": False,
               "tailscale_client_service_state": "stopped", "tailscale_client_service_enabled": False}
    document = run_role(debian12, "tailscale_client", install)
    assert failures(document, debian12) == []
    assert document["stats"][debian12]["changed"] > 0
    installed = subprocess.run(["docker", "exec", debian12, "test", "-x", "/usr/local/bin/tailscale"], check=False)
    assert installed.returncode == 0

    document = run_role(debian12, "tailscale_client", {**install, "tailscale_client_state": "absent"})
    assert failures(document, debian12) == []
    assert document["stats"][debian12]["changed"] > 0
    left = subprocess.run(
        ["docker", "exec", debian12, "ls", "-d", "/usr/local/bin/tailscale", "/usr/local/sbin/tailscaled",
         "/usr/local/lib/tailscale", "/etc/systemd/system/tailscaled.service", "/etc/default/tailscaled"],
        capture_output=True, text=True, check=False,
    )
    assert left.stdout.strip() == "", f"left behind: {left.stdout}"

    document = run_role(debian12, "tailscale_client", {**install, "tailscale_client_state": "absent"})
    assert failures(document, debian12) == []
    assert document["stats"][debian12]["changed"] == 0
