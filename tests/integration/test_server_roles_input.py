"""Bad input to the docker, headscale and caddy roles fails first, naming the variable, before anything changes.

Each case runs the real role with ansible-playbook against a throw-away Debian 12 container
of the test bed (``selfhosted-testbed/debian:12``, no network, ``sleep`` as PID 1; the
community.docker.docker connection) and reads the json callback's result: the run must fail
in argument validation or in a named preflight check, the message must name the variable,
and the host must report no change. A control run with good input shows the preflight checks
let it through: it gets as far as the first step that needs Docker on the host.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness import roles
from harness.roles import run_role

# headscale in container mode: the binary method's host checks (systemd) do not apply, and
# on this host without Docker the first step after the preflight stops the control run.
HEADSCALE_GOOD = {
    "headscale_install_method": "container",
    "headscale_version": "0.26.1",
    "headscale_server_url": "https://hs.example.test",
    "headscale_container_image": "selfhosted-testbed/headscale:0.26.1",
}
HEADSCALE_029 = {**HEADSCALE_GOOD, "headscale_version": "0.29.3",
                 "headscale_container_image": "selfhosted-testbed/headscale:0.29.3"}


@pytest.fixture(scope="module")
def debian12() -> Iterator[str]:
    with roles.debian12("hs-input", "test_server_roles_input") as name:
        yield name


def first_failure(document: dict[str, Any], host: str) -> tuple[str, str]:
    """(task name, message) of the first failed task, and check that nothing changed."""
    stats = document["stats"][host]
    assert stats["changed"] == 0, f"the failing run changed something: {stats}"
    for play in document["plays"]:
        for task in play["tasks"]:
            result = task["hosts"].get(host, {})
            if result.get("failed"):
                return task["task"]["name"], str(result.get("msg", ""))
    pytest.fail(f"the run did not fail: {stats}", pytrace=False)


CASES = [
    # id, role, extra vars, failing task (substring), variable named in the message
    ("docker-distribution-on-debian12", "docker",
     {"docker_install_method": "distribution"},
     "Check that the distribution packages Compose v2", "docker_install_method"),
    ("docker-unknown-method", "docker",
     {"docker_install_method": "snap"},
     "Validating arguments", "docker_install_method"),
    ("docker-bad-subnet", "docker",
     {"docker_install_method": "docker_repo", "docker_shared_network_subnet": "172.30.0.0"},
     "Check the shared network settings", "docker_shared_network_subnet"),
    ("headscale-http-url-behind-tls-proxy", "headscale",
     {**HEADSCALE_GOOD, "headscale_server_url": "http://hs.example.test", "headscale_tls_proxied": True},
     "Check headscale_server_url is https when TLS is on", "headscale_server_url"),
    ("headscale-http-url-with-tls-files", "headscale",
     {**HEADSCALE_GOOD, "headscale_server_url": "http://hs.example.test",
      "headscale_tls_cert_path": "/etc/headscale/tls.crt", "headscale_tls_key_path": "/etc/headscale/tls.key"},
     "Check headscale_server_url is https when TLS is on", "headscale_server_url"),
    ("headscale-oidc-without-issuer", "headscale",
     {**HEADSCALE_GOOD, "headscale_oidc_enabled": True, "headscale_oidc_client_id": "client"},
     "Check the OIDC settings", "headscale_oidc_issuer"),
    ("headscale-oidc-without-client-id", "headscale",
     {**HEADSCALE_GOOD, "headscale_oidc_enabled": True, "headscale_oidc_issuer": "https://idp.example.test"},
     "Check the OIDC settings", "headscale_oidc_client_id"),
    ("headscale-oidc-secret-missing", "headscale",
     {**HEADSCALE_GOOD, "headscale_oidc_enabled": True, "headscale_oidc_issuer": "https://idp.example.test",
      "headscale_oidc_client_id": "client"},
     "Check the OIDC client secret is at hand", "headscale_oidc_client_secret"),
    ("headscale-empty-metrics-before-0.28", "headscale",
     {**HEADSCALE_GOOD, "headscale_metrics_listen_addr": ""},
     "Check headscale_metrics_listen_addr against the version", "headscale_metrics_listen_addr"),
    ("headscale-metrics-network-off-but-listening-everywhere", "headscale",
     {**HEADSCALE_GOOD, "headscale_metrics_docker_network": False, "headscale_metrics_listen_addr": "0.0.0.0:9090"},
     "Check headscale_metrics_listen_addr against headscale_metrics_docker_network", "headscale_metrics_listen_addr"),
    ("headscale-trusted-proxies-everyone", "headscale",
     {**HEADSCALE_029, "headscale_trusted_proxies": ["0.0.0.0/0"]},
     "Check headscale_trusted_proxies", "headscale_trusted_proxies"),
    ("headscale-trusted-proxies-bare-address", "headscale",
     {**HEADSCALE_029, "headscale_trusted_proxies": ["172.30.0.2"]},
     "Check headscale_trusted_proxies", "headscale_trusted_proxies"),
    ("headscale-firewall-ssh-port-zero", "headscale",
     {**HEADSCALE_GOOD, "headscale_firewall_enabled": True, "headscale_firewall_ssh_port": 0},
     "Check the firewall's SSH port", "headscale_firewall_ssh_port"),
    ("headscale-firewall-ssh-port-not-a-number", "headscale",
     {**HEADSCALE_GOOD, "headscale_firewall_enabled": True, "headscale_firewall_ssh_port": "ssh"},
     "Validating arguments", "headscale_firewall_ssh_port"),
    ("headscale-firewall-udp-port-too-big", "headscale",
     {**HEADSCALE_GOOD, "headscale_firewall_enabled": True, "headscale_firewall_udp_ports": [3478, 70000]},
     "Check the firewall's TCP and UDP ports", "headscale_firewall_udp_ports"),
    ("caddy-https-port-not-published", "caddy",
     {"caddy_site_address": "hs.example.test", "caddy_tls_mode": "internal",
      "caddy_container_ports": ["80:80", "443:4430"]},
     "Check caddy_container_ports", "caddy_container_ports"),
    ("headscale-unknown-method", "headscale",
     {**HEADSCALE_GOOD, "headscale_install_method": "podman"},
     "Validating arguments", "headscale_install_method"),
]


@pytest.mark.parametrize(("role", "extra_vars", "task", "variable"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_input_fails_first(debian12: str, role: str, extra_vars: dict[str, Any], task: str, variable: str) -> None:
    failed_task, message = first_failure(run_role(debian12, role, extra_vars), debian12)
    assert task in failed_task, f"failed in {failed_task!r}: {message}"
    assert variable in message, f"the message does not name {variable}: {message}"


def test_good_input_passes_the_checks(debian12: str) -> None:
    """Control: the same inputs, corrected, pass every check (the run stops only where Docker is needed)."""
    document = run_role(debian12, "headscale", {
        **HEADSCALE_029, "headscale_tls_proxied": True, "headscale_metrics_listen_addr": "",
        "headscale_metrics_docker_network": False,
        "headscale_trusted_proxies": ["172.30.0.0/24", "fd00:30::/64"],
        "headscale_oidc_enabled": True, "headscale_oidc_issuer": "https://idp.example.test",
        "headscale_oidc_client_id": "client", "headscale_oidc_client_secret": "lab-secret",
        "headscale_firewall_enabled": True, "headscale_firewall_ssh_port": 2222,
        "headscale_firewall_udp_ports": [3478, 41641],
    })
    failed_task, message = first_failure(document, debian12)
    assert "Check that Docker runs on the host" in failed_task, f"failed in {failed_task!r}: {message}"
