"""The headscale_client_minimum filter: one table with headscale_audit (module_utils/audit.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.selfhosted.headscale.plugins.filter.headscale_client_minimum import headscale_client_minimum

from tests.unit.recordings import VERSIONS


@pytest.mark.parametrize(("version", "minimum"), [("0.26.1", "1.62"), ("0.27.1", "1.64"), ("v0.28.0", "1.74"),
                                                  ("0.29.3", "1.80")])
def test_each_supported_minor(version, minimum):
    assert headscale_client_minimum(version) == minimum


def test_every_supported_version_is_known():
    assert all(headscale_client_minimum(version) for version in VERSIONS)


@pytest.mark.parametrize("version", ["0.25.1", "0.31.0", "latest", None])
def test_unknown_versions_fail(version):
    with pytest.raises(AnsibleFilterError, match="no client minimum known"):
        headscale_client_minimum(version)
