"""What run_module checks before the handler: the module's input check, then its version gates. A gate
reads the version only when the run asks for its option, and every refusal is the same sentence naming
the option, the first version that has it and the server's version."""

from __future__ import annotations

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils.headscale_client import HeadscaleClient
from ansible_collections.selfhosted.headscale.plugins.module_utils.module_base import Gate, validate
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError
from ansible_collections.selfhosted.headscale.plugins.module_utils.versions import GATES

NEVER = Gate("expiry: never", "node_expiry_disable", lambda params: params["expiry"] == "never",
             hint="use expiry: now")


def test_refusal_names_the_option_and_both_versions(client_of):
    with pytest.raises(ValidationError) as caught:
        validate({"expiry": "never"}, client_of("0.26.1"), gates=[NEVER])
    assert str(caught.value) == "expiry: never needs headscale 0.29 or later (this is 0.26.1); use expiry: now."
    validate({"expiry": "never"}, client_of("0.29.3"), gates=[NEVER])


def test_a_gate_the_run_does_not_ask_for_reads_no_version():
    unreadable = HeadscaleClient.from_params({"headscale_command": ["/nonexistent/headscale"]})
    validate({"expiry": "now"}, unreadable, gates=[NEVER])


def test_the_check_runs_first_and_its_values_replace_the_given_ones(client_of):
    params = {"expiry": "NEVER"}
    with pytest.raises(ValidationError, match=r"needs headscale 0\.29"):
        validate(params, client_of("0.28.0"), check=lambda p, client: {"expiry": p["expiry"].lower()},
                 gates=[NEVER])
    assert params == {"expiry": "never"}


def test_every_gate_is_a_difference_within_the_supported_range():
    assert all((0, 26, 1) < first < (0, 31, 0) for first in GATES.values())
