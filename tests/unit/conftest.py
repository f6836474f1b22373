"""Fixtures shared by the unit tests (tests/unit mirrors plugins/: one test module per source module)."""

from __future__ import annotations

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils.headscale_client import HeadscaleClient
from ansible_collections.selfhosted.headscale.plugins.module_utils.module_base import validate
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError

from tests.unit.recordings import VERSIONS


@pytest.fixture(params=VERSIONS)
def version(request):
    """Every supported headscale version with recordings in tests/fixtures/<version>/."""
    return request.param


@pytest.fixture
def client_of():
    """``client_of("0.26.1")``: a client that states its version (``headscale_version``) and never runs
    anything -- for input checks and version gates."""

    def make(version):
        return HeadscaleClient.from_params({"headscale_command": ["/nonexistent/headscale"],
                                            "headscale_version": version})

    return make


@pytest.fixture
def refusal():
    """``refusal(module, client, params)``: the message run_module fails with before the module's handler
    runs (its ``check`` and ``GATES``), or ``None``."""

    def refuse(module, client, params):
        try:
            validate(params, client, module.check, getattr(module, "GATES", ()))
        except ValidationError as exc:
            return str(exc)
        return None

    return refuse
