"""Host state of molecule/server's headscale host, read with pytest-testinfra.

molecule/server's verify runs it against the container (testinfra's docker backend,
``docker exec``), then once more with one secret made readable, which must fail:

    python -m pytest -p no:cacheprovider tests/hoststate/test_server_host.py --hosts=docker://hs-server-host

HOSTSTATE_HEADPLANE=1 says the host runs Headplane too (molecule/server; server_tls_internal
shares the verify without it). `make test` does not collect this folder itself: it needs the
scenario's running containers.
"""

from __future__ import annotations

import os

HEADPLANE = os.environ.get("HOSTSTATE_HEADPLANE") == "1"
SECRET_DIRS = ("/opt/docker/headscale/secrets",) + (("/opt/docker/headplane/secrets",) if HEADPLANE else ())


def test_secret_folders_are_root_only(host):
    for path in SECRET_DIRS:
        folder = host.file(path)
        assert folder.is_directory, path
        assert (folder.mode, folder.user, folder.group) == (0o700, "root", "root"), path


def test_every_secret_file_is_0600_root(host):
    files = host.check_output("find " + " ".join(SECRET_DIRS) + " -type f").split()
    # headscale's OIDC client secret; Headplane's cookie secret and API key
    assert len(files) >= (3 if HEADPLANE else 1), files
    modes = {path: (host.file(path).mode, host.file(path).user, host.file(path).group) for path in files}
    assert modes == {path: (0o600, "root", "root") for path in files}


def test_caddy_listens_on_every_address(host):
    assert host.socket("tcp://0.0.0.0:443").is_listening
    assert host.socket("tcp://0.0.0.0:80").is_listening  # the redirect to HTTPS


def test_metrics_listen_on_loopback_only(host):
    assert host.socket("tcp://127.0.0.1:9090").is_listening
    assert not host.socket("tcp://0.0.0.0:9090").is_listening
    assert not host.socket("tcp://:::9090").is_listening


def test_docker_from_debian_runs_and_starts_at_boot(host):
    for package in ("docker.io", "docker-cli", "docker-compose"):
        assert host.package(package).is_installed, package
    docker = host.service("docker")
    assert docker.is_running and docker.is_enabled


def test_the_stack_runs(host):
    for name in ("headscale", "caddy") + (("headplane",) if HEADPLANE else ()):
        assert host.docker(name).is_running, name
