"""Bad input to docker, headscale, caddy or headplane fails first, naming the variable, before anything changes.

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
CADDY_GOOD = {"caddy_site_address": "hs.example.test", "caddy_tls_mode": "internal"}
# headplane: PyYAML not installed on the host (that would need a package mirror).
HEADPLANE_GOOD = {"headplane_headscale_version": "0.26.1", "headplane_headscale_public_url": "https://hs.example.test",
                  "headplane_install_python_yaml": False}


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
    # Values with a format, each class per role. Before these checks the ones marked "slipped"
    # passed every preflight check (or stopped it with an unrelated templating error).
    # URLs: scheme, path, port range.
    ("headscale-server-url-without-scheme", "headscale",
     {**HEADSCALE_GOOD, "headscale_server_url": "hs.example.test"},
     "Check headscale_server_url", "headscale_server_url"),
    ("headscale-server-url-with-path", "headscale",  # slipped
     {**HEADSCALE_GOOD, "headscale_server_url": "https://hs.example.test/headscale"},
     "Check headscale_server_url", "headscale_server_url"),
    ("headscale-server-url-port-out-of-range", "headscale",  # slipped: urlsplit raised in the MagicDNS check
     {**HEADSCALE_GOOD, "headscale_server_url": "https://hs.example.test:99999"},
     "Check headscale_server_url", "headscale_server_url"),
    ("headscale-listen-addr-without-host-part", "headscale",  # slipped
     {**HEADSCALE_GOOD, "headscale_listen_addr": "8080"},
     "Check the listen addresses", "headscale_listen_addr"),
    ("headscale-derp-url-without-scheme", "headscale",  # slipped
     {**HEADSCALE_GOOD, "headscale_derp_urls": ["derp.example.test/derpmap.json"]},
     "Check headscale_derp_urls", "headscale_derp_urls"),
    ("headscale-oidc-issuer-port-out-of-range", "headscale",  # slipped
     {**HEADSCALE_GOOD, "headscale_oidc_enabled": True, "headscale_oidc_issuer": "https://idp.example.test:70000",
      "headscale_oidc_client_id": "client", "headscale_oidc_client_secret": "lab-secret"},
     "Check the OIDC settings", "headscale_oidc_issuer"),
    # Versions.
    ("headscale-version-with-v", "headscale",  # slipped: the version test raised a Python TypeError
     {**HEADSCALE_GOOD, "headscale_version": "v0.26.1"},
     "Check the headscale version", "headscale_version"),
    ("headscale-version-latest", "headscale",  # slipped: the same TypeError
     {**HEADSCALE_GOOD, "headscale_version": "latest"},
     "Check the headscale version", "headscale_version"),
    ("headscale-version-two-parts", "headscale",  # slipped: '0.29' is no release to download
     {**HEADSCALE_GOOD, "headscale_version": "0.29"},
     "Check the headscale version", "headscale_version"),
    # Host names.
    ("headscale-base-domain-not-a-dns-name", "headscale",  # slipped
     {**HEADSCALE_GOOD, "headscale_dns_base_domain": "tail_net.internal"},
     "Check the DNS names", "headscale_dns_base_domain"),
    # Address prefixes: inside 100.64.0.0/10 and fd7a:115c:a1e0::/48, canonical.
    ("headscale-prefix-v4-outside-cgnat", "headscale",  # slipped
     {**HEADSCALE_GOOD, "headscale_prefixes_v4": "10.0.0.0/8"},
     "Stop on an address prefix outside Tailscale's ranges", "headscale_prefixes_v4"),
    ("headscale-prefix-v6-outside-ula", "headscale",  # slipped
     {**HEADSCALE_GOOD, "headscale_prefixes_v6": "fd00::/48"},
     "Stop on an address prefix outside Tailscale's ranges", "headscale_prefixes_v6"),
    ("headscale-prefix-v4-not-canonical", "headscale",  # slipped
     {**HEADSCALE_GOOD, "headscale_prefixes_v4": "100.64.0.1/10"},
     "Stop on an address prefix outside Tailscale's ranges", "headscale_prefixes_v4"),
    ("headscale-prefix-v4-holds-ipv6", "headscale",  # slipped
     {**HEADSCALE_GOOD, "headscale_prefixes_v4": "fd7a:115c:a1e0::/48", "headscale_prefixes_v6": ""},
     "Stop on an address prefix outside Tailscale's ranges", "headscale_prefixes_v4"),
    # The reference deployment's TLS topology (headscale serving TLS behind Caddy, which skips
    # verifying it) is refused: TLS ends at the proxy, headscale behind it is plain HTTP.
    ("headscale-tls-behind-tls-proxy", "headscale",
     {**HEADSCALE_GOOD, "headscale_tls_proxied": True, "headscale_tls_letsencrypt_hostname": "hs.example.test"},
     "Check headscale does not serve TLS behind a TLS proxy", "headscale_tls_letsencrypt_hostname"),
    ("caddy-skip-verify-plain-upstream", "caddy",
     {**CADDY_GOOD, "caddy_headscale_upstream_tls_insecure_skip_verify": True},
     "Check caddy_headscale_upstream_tls_insecure_skip_verify", "caddy_headscale_upstream"),
    ("caddy-version-with-v", "caddy",  # slipped
     {**CADDY_GOOD, "caddy_version": "v2.11.9"},
     "Check caddy_version", "caddy_version"),
    ("caddy-site-address-with-scheme", "caddy",
     {**CADDY_GOOD, "caddy_site_address": "https://hs.example.test"},
     "Check caddy_site_address", "caddy_site_address"),
    ("caddy-headscale-upstream-with-path", "caddy",  # slipped
     {**CADDY_GOOD, "caddy_headscale_upstream": "http://headscale:8080/headscale"},
     "Check caddy_headscale_upstream", "caddy_headscale_upstream"),
    ("caddy-headplane-upstream-port-out-of-range", "caddy",  # slipped
     {**CADDY_GOOD, "caddy_headplane_upstream": "headplane:99999"},
     "Check caddy_headplane_upstream", "caddy_headplane_upstream"),
    ("caddy-acme-ca-port-out-of-range", "caddy",  # slipped
     {**CADDY_GOOD, "caddy_tls_mode": "acme", "caddy_acme_email": "ops@example.test",
      "caddy_acme_ca": "https://pebble.example.test:140000/dir"},
     "Check the ACME settings", "caddy_acme_ca"),
    ("headplane-headscale-url-with-path", "headplane",  # slipped
     {**HEADPLANE_GOOD, "headplane_headscale_url": "http://headscale:8080/api"},
     "Check headplane_headscale_url", "headplane_headscale_url"),
    ("headplane-public-url-port-out-of-range", "headplane",
     {**HEADPLANE_GOOD, "headplane_headscale_public_url": "https://hs.example.test:99999"},
     "Check headplane_headscale_public_url", "headplane_headscale_public_url"),
    ("headplane-headscale-version-latest", "headplane",  # slipped with the pair forced
     {**HEADPLANE_GOOD, "headplane_headscale_version": "latest", "headplane_allow_unsupported_pair": True},
     "Check headplane_headscale_version", "headplane_headscale_version"),
    ("headplane-port-out-of-range", "headplane",  # slipped
     {**HEADPLANE_GOOD, "headplane_port": 70000},
     "Check headplane_port", "headplane_port"),
    ("docker-repo-url-without-scheme", "docker",  # slipped
     {"docker_install_method": "docker_repo", "docker_repo_url": "download.docker.com/linux"},
     "Check the repository URLs", "docker_repo_url"),
    ("docker-subnet-not-an-address", "docker",  # slipped
     {"docker_install_method": "docker_repo", "docker_shared_network_subnet": "172.300.0.0/24"},
     "Check the shared network settings", "docker_shared_network_subnet"),
    ("docker-dns-not-an-address", "docker",  # slipped
     {"docker_install_method": "docker_repo", "docker_daemon_dns": ["dns.example.test"]},
     "Check docker_daemon_dns", "docker_daemon_dns"),
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
        "headscale_server_url": "https://hs.example.test:8443/", "headscale_listen_addr": "[::]:8080",
        "headscale_health_url": "http://127.0.0.1:8080/health", "headscale_dns_base_domain": "tailnet.example.test",
        "headscale_prefixes_v4": "100.64.0.0/16", "headscale_prefixes_v6": "fd7a:115c:a1e0:1::/64",
    })
    failed_task, message = first_failure(document, debian12)
    assert "Check that Docker runs on the host" in failed_task, f"failed in {failed_task!r}: {message}"


@pytest.mark.parametrize(("role", "extra_vars", "stops_at"), [
    pytest.param("caddy", {**CADDY_GOOD, "caddy_version": "2.10.0-beta.4", "caddy_headscale_upstream": "http://[::1]:8080",
                           "caddy_headplane_upstream": "headplane:3002", "caddy_tls_mode": "acme",
                           "caddy_acme_email": "ops@example.test", "caddy_acme_ca": "https://pebble.example.test:14000/dir"},
                 "Check Docker is installed", id="caddy"),
    pytest.param("headplane", {**HEADPLANE_GOOD, "headplane_headscale_version": "v0.26.1",
                               "headplane_headscale_url": "http://headscale:8080/",
                               "headplane_api_key_check_url": "https://hs.example.test", "headplane_port": 65535},
                 "Look for the image of Headplane", id="headplane"),
])
def test_good_values_pass_the_checks(debian12: str, role: str, extra_vars: dict[str, Any], stops_at: str) -> None:
    """Control for the format checks: right values of each format pass every check; the run stops only
    where Docker is needed (Headplane creates its project directories first)."""
    document = run_role(debian12, role, extra_vars)
    failed = [(task["task"]["name"], str(task["hosts"][debian12].get("msg", ""))) for play in document["plays"]
              for task in play["tasks"] if task["hosts"].get(debian12, {}).get("failed")]
    assert failed and stops_at in failed[0][0], failed
