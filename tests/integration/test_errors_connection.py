"""Connection problems give one clear failure for every module of this file's owner: unreachable
headscale (CLI socket, REST URL), rejected API keys, missing binary, unsupported versions."""

from __future__ import annotations

import pytest
from harness.modules import TRANSPORTS, assert_no_secret, run_module
from harness.ports import free_port

# A valid, harmless call per module: failures below come from the connection alone.
MODULES = {
    "headscale_user": {"name": "conn-user"},
    "headscale_preauthkey": {"user": "conn-user", "force_create": True},
    "headscale_apikey": {"expiration": "1d"},
    "headscale_info": {},
}


def state(server):
    server.api_key  # noqa: B018 - created on first use (by connection_args for the api transport): create it first
    return server.snapshot(), server.cli_list("apikeys", "list")


@pytest.fixture(scope="module")
def unreachable_config(headscale):
    """The server's config with a unix socket nobody listens on."""
    path = headscale.workdir / "unreachable.yaml"
    path.write_text(headscale.config_path.read_text().replace(str(headscale.socket_path),
                                                              str(headscale.workdir / "nobody.sock")))
    return str(path)


@pytest.mark.parametrize("module", MODULES)
def test_cli_unreachable(headscale, unreachable_config, module):
    before = state(headscale)
    result = run_module(module, dict(MODULES[module], config_path=unreachable_config), server=headscale)
    assert result["failed"] is True
    assert result["msg"].startswith("headscale is not reachable through `%s -c %s`: "
                                    % (headscale.binary, unreachable_config)), result["msg"]
    assert result["rc"] == 1 and "cmd" in result
    assert state(headscale) == before


@pytest.mark.parametrize("module", MODULES)
def test_api_unreachable(headscale, module):
    url = "http://127.0.0.1:%d" % free_port()
    result = run_module(module, dict(MODULES[module], api_url=url), server=headscale, transport="api")
    assert result["failed"] is True
    assert result["msg"].startswith("headscale is not reachable at %s: " % url), result["msg"]
    assert_no_secret(result, headscale.api_key)


@pytest.mark.parametrize("module", MODULES)
def test_api_wrong_key(headscale, module):
    before = state(headscale)
    wrong = "hskey-api-AAAAAAAAAAAA-" + "B" * 64
    result = run_module(module, dict(MODULES[module], api_key=wrong), server=headscale, transport="api")
    assert result["failed"] is True
    assert result["msg"].startswith("the API key was rejected by headscale at %s (HTTP " % headscale.url)
    assert_no_secret(result, wrong)
    assert state(headscale) == before


def test_api_expired_key(headscale):
    key = headscale.cli("apikeys", "create", "--expiration", "1d")
    prefix = key.split(".")[0] if "." in key else key[: len("hskey-api-") + 12]
    headscale.cli("apikeys", "expire", "--prefix", prefix)
    result = run_module("headscale_info", {"api_key": key}, server=headscale, transport="api")
    assert result["failed"] is True
    assert result["msg"].startswith("the API key was rejected by headscale at "), result["msg"]
    assert_no_secret(result, key)


def test_api_key_required(headscale):
    result = run_module("headscale_info", {"transport": "api", "api_url": headscale.url})
    assert result["failed"] is True
    assert result["msg"] == "api_key is required when transport=api (set api_key or HEADSCALE_API_KEY)."


def test_missing_binary():
    result = run_module("headscale_user", {"name": "nobody", "headscale_command": ["/nonexistent/headscale"]})
    assert result["failed"] is True
    assert result["msg"].startswith("the command '/nonexistent/headscale' was not found; install headscale, "
                                    "or set headscale_command")


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("version", ["0.25.1", "0.31.0"])
def test_unsupported_version(headscale, transport, version):
    before = state(headscale)
    result = run_module("headscale_user", {"name": "conn-vers", "headscale_version": version},
                        server=headscale, transport=transport)
    assert result["failed"] is True
    assert result["msg"] == (
        "headscale %s (detected from the headscale_version option) is not supported by selfhosted.headscale; "
        "supported versions are 0.26.1 to 0.29.x (0.30 development builds on a best-effort basis)." % version)
    assert state(headscale) == before


def test_unparseable_version(headscale):
    result = run_module("headscale_info", {"headscale_version": "dev"}, server=headscale)
    assert result["failed"] is True
    assert result["msg"].startswith("could not tell the headscale version from the headscale_version option")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_detected_version_is_reported(headscale, transport):
    result = run_module("headscale_info", {"gather": ["version"]}, server=headscale, transport=transport)
    expected = headscale.version if (transport == "cli" or headscale.at_least("0.27")) else (
        ".".join(headscale.version.split(".")[:2]) + ".0")  # probed from the OpenAPI paths: minor only
    assert result["version"] == expected
