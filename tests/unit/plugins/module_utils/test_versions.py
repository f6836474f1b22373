"""Version parsing, the supported range and feature gates (versions as the real binaries report them)."""

from __future__ import annotations

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.transports.api import version_from_openapi
from ansible_collections.selfhosted.headscale.plugins.module_utils.versions import (
    Features,
    check_supported,
    parse_version,
)

from tests.unit.recordings import VERSIONS, api_json, cli_json, load, version_tuple


@pytest.mark.parametrize("version", VERSIONS)
def test_cli_version_output_parses(version):
    assert parse_version(cli_json(version, "version")["version"]) == version_tuple(version)


@pytest.mark.parametrize("version", VERSIONS)
def test_api_version_endpoint_or_openapi_probe(version):
    record = load(version, "api-version")
    if record["status"] == 200:
        assert parse_version(api_json(version, "version")["version"]) == version_tuple(version)
    else:
        assert record["status"] == 404
    probed = parse_version(version_from_openapi(api_json(version, "swagger")))
    assert probed == (*version_tuple(version)[:2], 0)


def test_parse_version_forms():
    assert parse_version("v0.29.3") == (0, 29, 3)
    assert parse_version("0.30.0-beta.1") == (0, 30, 0)
    assert parse_version("v0.28.0+probed") == (0, 28, 0)
    assert parse_version("dev") is None
    assert parse_version(None) is None


@pytest.mark.parametrize("version", [(0, 25, 1), (0, 22, 3), (0, 31, 0), (1, 0, 0)])
def test_unsupported_versions_raise_a_clear_error(version):
    with pytest.raises(HeadscaleError) as info:
        check_supported(version, "via `headscale`")
    assert "is not supported by selfhosted.headscale; supported versions are 0.26.1 to 0.29.x" in info.value.msg


def test_feature_gates():
    old, mid, new = Features((0, 26, 1)), Features((0, 28, 0)), Features((0, 29, 3))
    assert not old.node_expire_at and not old.preauthkey_by_id and not old.tags_as_identity
    assert mid.node_expire_at and mid.preauthkey_by_id and mid.apikey_by_id and not mid.auth_register
    assert new.auth_register and new.policy_check_server and new.node_expiry_disable
    assert Features((0, 30, 0)).node_expiry_disable
