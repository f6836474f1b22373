#!/usr/bin/python
# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: headscale_user
short_description: Manage headscale users
version_added: 0.1.0
description:
  - Create, rename and delete users of a headscale server.
  - Works with headscale 0.26.1 to 0.29.x over the CLI or the REST API.
extends_documentation_fragment:
  - selfhosted.headscale.connection
  - selfhosted.headscale.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  name:
    description:
      - The user name. headscale requires at least 2 characters, starting with a letter, then letters,
        digits, V(-), V(.), V(_) and at most one V(@).
    type: str
    required: true
  state:
    description:
      - V(present) creates the user (or renames O(rename_from) to O(name)).
      - V(absent) deletes the user.
    type: str
    choices: [present, absent]
    default: present
  display_name:
    description:
      - Display name, set when the user is created.
      - headscale cannot change it afterwards; a different value on an existing user gives a warning and no change.
    type: str
  email:
    description:
      - E-mail address, set when the user is created (same restriction as O(display_name)).
    type: str
  picture_url:
    description:
      - Profile picture URL, set when the user is created (same restriction as O(display_name)).
    type: str
  rename_from:
    description:
      - Rename the user with this name to O(name) if O(name) does not exist yet.
      - If neither exists, O(name) is created; if both exist, the module fails.
      - Renaming a user can break policies that refer to C(old_name@).
    type: str
  delete_nodes:
    description:
      - With O(state=absent), first delete the nodes the user owns.
      - Without it the module refuses to delete a user that still owns nodes, before changing anything.
    type: bool
    default: false
  allow_preauthkey_loss:
    description:
      - With O(state=absent) on headscale 0.28.x, delete the user even though headscale then also deletes every
        other pre-auth key of the server (of every other user, and tag-only keys); see the notes.
      - Without it the module refuses, before changing anything (in check mode too), when such keys exist,
        and names how many. On every other headscale version the option changes nothing.
    type: bool
    default: false
notes:
  - OIDC users (with a C(provider)) cannot be renamed by headscale.
  - headscale 0.28.x deletes every pre-auth key of the server when it deletes any user, not only that user's
    (U(https://github.com/juanfont/headscale/pull/3155), fixed in 0.29.0). On 0.28.x O(state=absent) therefore
    lists the pre-auth keys first and refuses while keys of other users (or tag-only keys) exist, unless
    O(allow_preauthkey_loss=true). Upgrading to 0.29 removes the problem.
seealso:
  - module: selfhosted.headscale.headscale_info
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
---
- name: Ensure user alice exists
  selfhosted.headscale.headscale_user:
    name: alice
    display_name: Alice Example
    email: alice@example.com
    headscale_command: [docker, exec, -i, headscale, headscale]

- name: Rename user bob to robert
  selfhosted.headscale.headscale_user:
    name: robert
    rename_from: bob

- name: Delete user carol and her nodes, over the REST API
  selfhosted.headscale.headscale_user:
    name: carol
    state: absent
    delete_nodes: true
    api_url: https://headscale.example.com
    api_key: "{{ headscale_api_key }}"
"""

RETURN = r"""
user:
  description: The user after the run (V(null) when absent).
  returned: always
  type: dict
  contains:
    id:
      description: User ID.
      type: int
      sample: 3
    name:
      description: User name.
      type: str
      sample: alice
    display_name:
      description: Display name.
      type: str
      sample: Alice Example
    email:
      description: E-mail address.
      type: str
      sample: alice@example.com
    provider:
      description: V(oidc) for users created by OIDC login, else V(null).
      type: str
    provider_id:
      description: OIDC identifier of the user.
      type: str
    profile_pic_url:
      description: Profile picture URL.
      type: str
    created_at:
      description: Creation time (RFC 3339, UTC).
      type: str
      sample: "2026-11-26T10:05:34.862416Z"
deleted_nodes:
  description: IDs of the nodes deleted with the user (O(delete_nodes=true)).
  returned: when O(state=absent)
  type: list
  elements: int
  sample: [4, 7]
lost_preauthkeys:
  description:
    - IDs of the pre-auth keys of other users (and tag-only keys) that headscale 0.28.x deleted (or, in check mode,
      would delete) together with the user, with O(allow_preauthkey_loss=true). Empty on other versions.
  returned: when O(state=absent)
  type: list
  elements: int
  sample: [2, 5]
diff:
  description: Before and after state of the user.
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.selfhosted.headscale.plugins.module_utils import validation
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.module_base import diff_result, run_module
from ansible_collections.selfhosted.headscale.plugins.module_utils.versions import format_version, needs_message

# option name -> normalised user field, for attributes only settable at creation
CREATE_ONLY = {"display_name": "display_name", "email": "email", "picture_url": "profile_pic_url"}


def view(user):
    """The part of a user the module manages (for diff and ``changed``)."""
    if user is None:
        return None
    return {"name": user["name"], "display_name": user["display_name"], "email": user["email"],
            "picture_url": user["profile_pic_url"]}


def predicted(params, base=None):
    """The user we expect after creating/renaming it (check mode, and for the diff)."""
    user = dict(base or {"id": None, "provider": None, "provider_id": None, "created_at": None,
                         "display_name": params["display_name"], "email": params["email"],
                         "profile_pic_url": params["picture_url"]})
    user["name"] = params["name"]
    return user


def warn_create_only(module, user):
    for option, key in CREATE_ONLY.items():
        wanted = module.params[option]
        if wanted is not None and (wanted or None) != user[key]:
            module.warn(
                "%s of user %r is %r on the server, not %r: headscale cannot change it after the user was created "
                "(delete and re-create the user to change it)." % (option, user["name"], user[key], wanted)
            )


def ensure_present(module, client):
    params = module.params
    current, source = client.find_users(params["name"], params["rename_from"] or None)
    if current is not None and source is not None and current["id"] != source["id"]:
        raise HeadscaleError(
            "cannot rename user %r to %r: both users exist." % (params["rename_from"], params["name"]))
    if current is not None:
        warn_create_only(module, current)
        return current, current
    if source is not None:
        before = source
        after = predicted(params, base=source)
        if not module.check_mode:
            after = client.rename_user(source["id"], params["name"])
        warn_create_only(module, after)
        return before, after
    after = predicted(params)
    if not module.check_mode:
        after = client.create_user(params["name"], params["display_name"], params["email"], params["picture_url"])
    return None, after


def deletes_every_preauthkey(features):
    """True when deleting a user deletes every pre-auth key of the server (0.28.x; versions.GATES)."""
    return features.preauthkey_by_id and not features.user_delete_scoped_preauthkeys_fix


def other_preauthkeys(user, keys):
    """The keys deleting ``user`` takes with it on 0.28.x although they are not its own."""
    return [key for key in keys if key["user_id"] != user["id"]]


def preauthkey_loss_refusal(user, lost, version):
    """The sentence refusing to delete ``user`` while ``lost`` (other pre-auth keys) exist on 0.28.x."""
    owners = {}
    for key in lost:
        owner = key["user"] or "tag-only"
        owners[owner] = owners.get(owner, 0) + 1
    what = "deleting user %r while %d pre-auth key(s) of other users exist (%s)" % (
        user["name"], len(lost), ", ".join("%s: %d" % item for item in sorted(owners.items())))
    return needs_message(
        what, "user_delete_scoped_preauthkeys_fix", version,
        "headscale 0.28.x deletes every pre-auth key of the server with any user (juanfont/headscale#3155, fixed "
        "in 0.29.0), so they would be lost: upgrade to 0.29, or set allow_preauthkey_loss: true to delete the user "
        "and lose them")


def ensure_absent(module, client, result):
    params = module.params
    current = client.find_user(params["name"])
    result["deleted_nodes"] = []
    result["lost_preauthkeys"] = []
    if current is None:
        return None, None
    owned = [node for node in client.list_nodes() if node["user_id"] == current["id"]]
    if owned and not params["delete_nodes"]:
        raise HeadscaleError(
            "user %r still owns %d node(s) (%s); set delete_nodes: true to delete them together with the user."
            % (params["name"], len(owned), ", ".join(node["given_name"] or str(node["id"]) for node in owned)))
    lost = []
    if deletes_every_preauthkey(client.features):  # checked before any node is deleted
        lost = other_preauthkeys(current, client.list_preauthkeys())
        if lost and not params["allow_preauthkey_loss"]:
            raise HeadscaleError(preauthkey_loss_refusal(current, lost, client.features.version))
        if lost:
            module.warn("deleting user %r on headscale %s also deletes %d pre-auth key(s) of other users (IDs %s; "
                        "juanfont/headscale#3155), as allow_preauthkey_loss: true allows."
                        % (current["name"], format_version(client.features.version), len(lost),
                           ", ".join(str(key["id"]) for key in lost)))
    result["deleted_nodes"] = [node["id"] for node in owned]
    result["lost_preauthkeys"] = [key["id"] for key in lost]
    if not module.check_mode:
        for node in owned:
            client.delete_node(node["id"])
        client.delete_user(current["id"])
    return current, None


def check(params, client):
    if params["state"] == "present":
        validation.username(params["name"], field="name")  # a name we may create: today's rules
    else:
        validation.required(params["name"], "name")  # existing users may predate them
    if params["rename_from"] is not None:
        validation.required(params["rename_from"], "rename_from")


def handle(module, client):
    params = module.params
    result = {}
    if params["state"] == "present":
        before, after = ensure_present(module, client)
    else:
        before, after = ensure_absent(module, client, result)
    result["changed"] = view(before) != view(after)
    result["user"] = after
    if module._diff:
        result["diff"] = diff_result(view(before), view(after))
    return result


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "display_name": {"type": "str"},
        "email": {"type": "str"},
        "picture_url": {"type": "str"},
        "rename_from": {"type": "str"},
        "delete_nodes": {"type": "bool", "default": False},
        "allow_preauthkey_loss": {"type": "bool", "default": False},
    }
    run_module(argument_spec, handle, check=check)


if __name__ == "__main__":
    main()
