"""The ACL policy the headscale role applies (roles/headscale/vars/main.yml _headscale_policy_effective,
used by policy_database.yml and, as _headscale_policy_text, by policy_file.yml), and the preflight
messages about it, rendered by ansible-core's own templating from the role's defaults and vars."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible import constants as C
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template
from ansible.utils.collection_loader import AnsibleCollectionConfig

from tests.unit.trusted import trusted

ROLE = Path(__file__).resolve().parents[3] / "roles" / "headscale"
ATTR = "disable-captive-portal-detection"
ENTRY = {"target": ["*"], "attr": [ATTR]}
POLICY = {"acls": [{"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*"]}]}
HUJSON = """{
  // members reach their own nodes
  "acls": [{"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*"]}],
}
"""


def _ansible_collections_modules() -> dict[str, Any]:
    return {name: module for name, module in sys.modules.items()
            if name == "ansible_collections" or name.startswith("ansible_collections.")}


@pytest.fixture(scope="module")
def render():
    """``render(expression, **inventory)``: the expression with the role's defaults and vars, and
    ``inventory`` as the user's variables (of higher precedence, untrusted as data is).

    The role's templates call the collection's filters, which ansible-core finds through its
    collection loader, as in a playbook run. That loader must import ``ansible_collections``
    itself (the package this session imported as a plain namespace package, tests/conftest.py,
    has no collection metadata), so the modules other tests imported are set aside meanwhile
    and put back afterwards."""
    imported = _ansible_collections_modules()
    for name in imported:
        del sys.modules[name]
    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader(C.COLLECTIONS_PATHS)
    role = {**trusted(yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())),
            **trusted(yaml.safe_load((ROLE / "vars" / "main.yml").read_text()))}
    loader = DataLoader()

    def run(expression: str, **inventory: Any) -> Any:
        return Templar(loader=loader, variables={**role, **inventory}).template(trust_as_template(expression))

    try:
        yield run
    finally:
        for name in _ansible_collections_modules():
            del sys.modules[name]
        sys.modules.update(imported)


def effective(render, **inventory):
    return render("{{ _headscale_policy_effective }}", **inventory)


def test_the_default_version_gets_the_entry_by_default(render):
    assert render("{{ headscale_version }}") == "0.29.3"
    assert render("{{ headscale_disable_captive_portal_detection }}") is True


@pytest.mark.parametrize("version", ["0.29.0", "0.29.3"])
def test_an_empty_policy_becomes_the_entry_alone_in_both_modes(render, version):
    # No headscale_policy (tailnet_policy unset) and an explicit empty one.
    assert effective(render, headscale_version=version) == {"nodeAttrs": [ENTRY]}
    assert effective(render, headscale_version=version, headscale_policy={}) == {"nodeAttrs": [ENTRY]}
    # File mode writes the same policy.
    text = render("{{ _headscale_policy_text }}", headscale_version=version)
    assert yaml.safe_load(text) == {"nodeAttrs": [ENTRY]}


def test_a_dict_without_the_entry_gets_it(render):
    assert effective(render, tailnet_policy=POLICY) == {**POLICY, "nodeAttrs": [ENTRY]}
    assert effective(render, headscale_policy=POLICY) == {**POLICY, "nodeAttrs": [ENTRY]}


def test_a_dict_with_the_entry_is_applied_as_it_is(render):
    scoped = {**POLICY, "nodeAttrs": [{"target": ["tag:server"], "attr": [ATTR]}]}
    assert effective(render, headscale_policy=scoped) == scoped
    assert effective(render, headscale_policy={**POLICY, "nodeAttrs": [ENTRY]}) == {**POLICY, "nodeAttrs": [ENTRY]}


def test_a_hujson_text_is_applied_as_it_is(render):
    assert effective(render, headscale_policy=HUJSON) == HUJSON
    assert render("{{ _headscale_policy_text }}", headscale_policy=HUJSON) == HUJSON


@pytest.mark.parametrize("version", ["0.26.1", "0.27.1", "0.28.0"])
def test_before_029_nothing_is_added_whatever_the_variable_says(render, version):
    assert render("{{ headscale_disable_captive_portal_detection }}", headscale_version=version) is False
    for explicit in ({}, {"headscale_disable_captive_portal_detection": True}):
        assert effective(render, headscale_version=version, **explicit) == {}
        assert effective(render, headscale_version=version, headscale_policy=POLICY, **explicit) == POLICY


def test_switched_off_the_policy_is_the_users(render):
    off = {"headscale_disable_captive_portal_detection": False}
    assert effective(render, **off) == {}
    assert effective(render, headscale_policy=POLICY, **off) == POLICY


def test_a_rerun_derives_the_same_policy(render):
    # The module compares by meaning; the role must hand it the same meaning on every run.
    once = effective(render, headscale_policy=POLICY)
    assert effective(render, headscale_policy=once) == once


def _task(name: str) -> dict[str, Any]:
    tasks = yaml.safe_load((ROLE / "tasks" / "preflight.yml").read_text())
    return next(task for task in tasks if task["name"] == name)


def _runs(render, name: str, **inventory: Any) -> bool:
    when = _task(name)["when"]
    return all(render("{{ %s }}" % condition, **inventory) for condition in when)


OLD_VERSION = "Say that captive portal detection stays on before headscale 0.29"
TEXT_POLICY = "Say that a HuJSON policy text gets no captive portal entry"


def test_preflight_says_an_explicit_true_is_ignored_before_029(render):
    assert _runs(render, OLD_VERSION, headscale_version="0.28.0", headscale_disable_captive_portal_detection=True)
    assert not _runs(render, OLD_VERSION, headscale_version="0.28.0")  # the default is off there
    assert not _runs(render, OLD_VERSION)  # 0.29.3


def test_preflight_says_when_a_hujson_text_lacks_the_entry(render):
    assert _runs(render, TEXT_POLICY, headscale_policy=HUJSON)
    granted = HUJSON.replace('"acls"', '"nodeAttrs": [{"target": ["*"], "attr": ["%s"]}],\n  "acls"' % ATTR)
    assert not _runs(render, TEXT_POLICY, headscale_policy=granted)
    assert not _runs(render, TEXT_POLICY, headscale_policy=POLICY)
    assert not _runs(render, TEXT_POLICY, headscale_policy=HUJSON, headscale_disable_captive_portal_detection=False)
    assert not _runs(render, TEXT_POLICY, headscale_policy=HUJSON, headscale_version="0.28.0")


NODES = {
    "groups": {"tailscale_nodes": ["router", "laptop", "box"]},
    "hostvars": {
        # a tagged router of headscale 0.28+ (tagged key, no user)
        "router": {"tailscale_client_auth_key_user": "", "tailscale_client_advertise_tags": ["tag:router"],
                   "tailscale_client_advertise_routes": ["10.0.0.0/24"], "tailscale_client_advertise_exit_node": True},
        # alice's laptop, an exit node of its own
        "laptop": {"tailscale_client_auth_key_user": "alice", "tailscale_client_advertise_exit_node": True},
        # logged in interactively for bob, advertising a route
        "box": {"tailscale_client_login": "interactive", "tailscale_client_login_user": "bob",
                "tailscale_client_auth_key_user": "ignored", "tailscale_client_advertise_routes": ["10.9.0.0/24"]},
    },
}


def test_the_inventory_adds_tag_owners_and_auto_approvers(render):
    result = effective(render, headscale_version="0.29.3", tailnet_policy=POLICY, tailnet_policy_from_inventory=True,
                       **NODES)
    assert result["acls"] == POLICY["acls"]
    assert result["tagOwners"] == {"tag:router": []}
    assert result["autoApprovers"] == {"routes": {"10.0.0.0/24": ["tag:router"], "10.9.0.0/24": ["bob@"]},
                                       "exitNode": ["alice@", "tag:router"]}
    assert result["nodeAttrs"] == [ENTRY]  # the captive portal entry is still added on 0.29


def test_the_inventory_adds_nothing_by_default(render):
    assert effective(render, headscale_version="0.26.1", tailnet_policy=POLICY, **NODES) == POLICY
