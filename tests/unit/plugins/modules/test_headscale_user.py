"""headscale_user: the view it compares and the user it predicts, fed with normalised recordings."""

from __future__ import annotations

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils import normalize
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError
from ansible_collections.selfhosted.headscale.plugins.modules import headscale_user as user_module

from tests.unit.recordings import cli_json


def test_user_view_and_prediction(version):
    alice = next(normalize.user(u) for u in cli_json(version, "users-list") if u["name"] == "alice")
    assert user_module.view(alice) == {"name": "alice", "display_name": "Alice Example",
                                       "email": "alice@example.com", "picture_url": "https://example.com/alice.png"}
    renamed = user_module.predicted({"name": "alicia", "display_name": None, "email": None, "picture_url": None},
                                    base=alice)
    assert renamed["id"] == alice["id"] and renamed["name"] == "alicia" and renamed["email"] == alice["email"]
    assert user_module.view(None) is None


def test_check_applies_naming_rules_only_to_names_it_may_create():
    given = {"name": "x", "state": "present", "rename_from": None}
    with pytest.raises(ValidationError, match="name 'x' is not a valid headscale user name"):
        user_module.check(given, None)
    user_module.check(dict(given, state="absent"), None)  # an existing user may predate the rules
