#!/usr/bin/python
# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: headscale_preauthkey
short_description: Manage headscale pre-authentication keys
version_added: 0.1.0
description:
  - Ensure a usable pre-auth key with given properties exists, expire keys, or delete them.
  - Works with headscale 0.26.1 to 0.29.x over the CLI or the REST API.
  - "Idempotence and secrets: a key secret is only ever returned for a key created by this run, or, on
    headscale 0.27 and older (which store keys in plain text), for the existing key that matched.
    From headscale 0.28 keys are hashed and the server shows only C(hskey-auth-<prefix>-***): when a
    matching key exists the module reports no change and returns RV(key=null) with RV(key_available=false).
    Set O(force_create=true) when the task needs a secret to use (for example to enrol a node)."
  - "Protect the returned secret with C(no_log: true) on the task and do not print the registered result."
extends_documentation_fragment:
  - selfhosted.headscale.connection
  - selfhosted.headscale.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: partial
    details:
      - With O(force_create=true) every run creates a new key.
options:
  user:
    description:
      - Name of the user owning the key.
      - Required before headscale 0.28. From 0.28 a key may have O(tags) instead (nodes enrolled with it
        are tagged nodes owned by no user).
    type: str
  tags:
    description:
      - ACL tags of the key; each must start with C(tag:).
      - With O(state=present) a key matches only with exactly these tags.
    type: list
    elements: str
  reusable:
    description:
      - Whether the key can enrol several nodes. Defaults to V(false) when creating;
        with O(state=expired) or O(state=absent) an unset value matches any key.
    type: bool
  ephemeral:
    description:
      - Whether nodes enrolled with the key are ephemeral (deleted after being offline). Defaults to
        V(false) when creating; with O(state=expired) or O(state=absent) an unset value matches any key.
    type: bool
  expiration:
    description:
      - Lifetime of a new key as a duration such as V(30m), V(24h), V(90d) or V(1y).
      - Existing keys match regardless of their remaining lifetime, as long as they have not expired.
    type: str
    default: 1h
  state:
    description:
      - V(present) ensures a matching key exists that is not expired and is reusable or unused;
        creates one when none matches.
      - V(expired) expires every matching key that has not expired yet (by O(id), or by O(user)/O(tags)/
        O(reusable)/O(ephemeral)).
      - V(absent) deletes the matching keys, expired or not (headscale 0.28 and later).
    type: str
    choices: [present, expired, absent]
    default: present
  id:
    description:
      - ID of one key to expire or delete (O(state=expired) or O(state=absent)).
    type: int
  force_create:
    description:
      - With O(state=present), always create a new key, even if a matching one exists.
    type: bool
    default: false
seealso:
  - module: selfhosted.headscale.headscale_user
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
---
- name: Create a reusable key for alice, valid for a day, to enrol servers
  selfhosted.headscale.headscale_preauthkey:
    user: alice
    reusable: true
    tags: [tag:server]
    expiration: 24h
    force_create: true
  register: enrol_key
  no_log: true

- name: Tag-only key (headscale 0.28 and later)
  selfhosted.headscale.headscale_preauthkey:
    tags: [tag:router]
    expiration: 1h
    force_create: true
  register: router_key
  no_log: true

- name: Expire all keys of alice
  selfhosted.headscale.headscale_preauthkey:
    user: alice
    state: expired
"""

RETURN = r"""
key:
  description:
    - The key secret, only for a key created by this run, or on headscale 0.27 and older for the
      matching existing key; V(null) otherwise.
  returned: always
  type: str
  sample: hskey-auth-AbCdEfGhIjKl-...
key_available:
  description: Whether RV(key) holds the secret.
  returned: always
  type: bool
preauthkey:
  description: The matched or created key, with the secret masked (O(state=present)).
  returned: when O(state=present)
  type: dict
  contains:
    id:
      description: Key ID.
      type: int
    key:
      description: Masked key (C(hskey-auth-<prefix>-***), or C(***) for plain-text keys).
      type: str
    user:
      description: Owner name (V(null) for tag-only keys).
      type: str
    user_id:
      description: Owner ID.
      type: int
    reusable:
      description: Reusable key.
      type: bool
    ephemeral:
      description: Ephemeral key.
      type: bool
    used:
      description: Whether a node used the key.
      type: bool
    expiration:
      description: Expiry time (RFC 3339, UTC).
      type: str
    created_at:
      description: Creation time (RFC 3339, UTC).
      type: str
    acl_tags:
      description: Tags.
      type: list
      elements: str
preauthkeys:
  description: The keys expired or deleted (secrets masked), as they were before the change.
  returned: when O(state=expired) or O(state=absent)
  type: list
  elements: dict
diff:
  description: Before and after state of the matching keys.
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.selfhosted.headscale.plugins.module_utils import validation
from ansible_collections.selfhosted.headscale.plugins.module_utils.headscale_client import is_expired, now
from ansible_collections.selfhosted.headscale.plugins.module_utils.module_base import Gate, diff_result, run_module
from ansible_collections.selfhosted.headscale.plugins.module_utils.normalize import mask_preauthkey
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError


def view(key, moment):
    return {"id": key["id"], "user": key["user"], "acl_tags": key["acl_tags"], "reusable": key["reusable"],
            "ephemeral": key["ephemeral"], "used": key["used"], "expired": is_expired(key, moment)}


def selected(keys, params, owner_id, tags):
    """Keys picked by id, or by user/tags/reusable/ephemeral (unset filters match anything)."""
    result = []
    for key in keys:
        if params["id"] is not None and key["id"] != params["id"]:
            continue
        if params["user"] is not None and key["user_id"] != owner_id:
            continue
        if params["tags"] is not None and key["acl_tags"] != tags:
            continue
        if params["reusable"] is not None and key["reusable"] != params["reusable"]:
            continue
        if params["ephemeral"] is not None and key["ephemeral"] != params["ephemeral"]:
            continue
        result.append(key)
    return result


def usable_match(keys, params, owner_id, tags, moment):
    matches = [
        key for key in keys
        if key["user_id"] == owner_id and key["acl_tags"] == tags
        and key["reusable"] == bool(params["reusable"]) and key["ephemeral"] == bool(params["ephemeral"])
        and not is_expired(key, moment) and (key["reusable"] or not key["used"])
    ]
    return max(matches, key=lambda key: (key["created_at"] is not None, key["created_at"], key["id"]), default=None)


def ensure_present(module, client, owner, tags, moment):
    params = module.params
    owner_id = owner["id"] if owner else None
    keys = client.list_preauthkeys(user=owner["name"] if owner else None)
    match = None if params["force_create"] else usable_match(keys, params, owner_id, tags, moment)
    result = {"changed": match is None, "key": None, "key_available": False}
    if match is not None:
        secret = client.preauthkey_secret(match["id"])  # <= 0.27 only: the server lists plain-text keys
        result.update(preauthkey=match, key=secret, key_available=secret is not None)
        before = after = view(match, moment)
    else:
        before = None
        after = {"id": None, "user": owner["name"] if owner else None, "acl_tags": tags,
                 "reusable": bool(params["reusable"]), "ephemeral": bool(params["ephemeral"]),
                 "used": False, "expired": False}
        result["preauthkey"] = None
        if not module.check_mode:
            created = client.create_preauthkey(
                user=owner["name"] if owner else None, reusable=bool(params["reusable"]),
                ephemeral=bool(params["ephemeral"]), expiration=params["expiration"], tags=tags)
            result.update(key=created["key"], key_available=True)
            masked = dict(created, key=mask_preauthkey(created["key"]))
            result["preauthkey"] = masked
            after = view(masked, moment)
    if module._diff:
        result["diff"] = diff_result(before, after)
    return result


def ensure_gone(module, client, owner, tags, moment):
    params = module.params
    state = params["state"]
    keys = client.list_preauthkeys(user=owner["name"] if owner else None)
    picked = selected(keys, params, owner["id"] if owner else None, tags)
    if state == "expired":
        picked = [key for key in picked if not is_expired(key, moment)]
    before = [view(key, moment) for key in picked]
    after = [] if state == "absent" else [dict(item, expired=True) for item in before]
    if picked and not module.check_mode:
        for key in picked:
            if state == "absent":
                client.delete_preauthkey(key)
            else:
                client.expire_preauthkey(key)
        remaining = {key["id"]: key for key in client.list_preauthkeys(user=owner["name"] if owner else None)}
        after = [view(remaining[key["id"]], now()) for key in picked if key["id"] in remaining]
    result = {"changed": before != after, "key": None, "key_available": False, "preauthkeys": picked}
    if module._diff:
        result["diff"] = diff_result({"preauthkeys": before}, {"preauthkeys": after})
    return result


def check(params, client):
    tags = validation.tags(params["tags"], field="tags") if params["tags"] is not None else None
    validation.expiration(params["expiration"], field="expiration")
    if params["user"] is not None:
        validation.required(params["user"], "user")
    if params["state"] == "present":
        if params["id"] is not None:
            raise ValidationError("id selects keys to expire or delete; it cannot be used with state=present.")
        if params["user"] is None and not tags:  # not required_if: an empty tags list counts as none
            raise ValidationError("state=present needs user, tags, or both.")
    return {"tags": tags}


GATES = (
    # 0.28 #2992 DeletePreAuthKey
    Gate("state=absent (deleting pre-auth keys)", "preauthkey_by_id", lambda params: params["state"] == "absent",
         hint="use state=expired"),
    # 0.28 tags as identity: tag-only keys
    Gate("a pre-auth key without user", "tags_as_identity",
         lambda params: params["state"] == "present" and params["user"] is None),
)


def handle(module, client):
    params = module.params
    tags = params["tags"]
    owner = client.require_user(params["user"]) if params["user"] is not None else None
    moment = now()
    if params["state"] == "present":
        return ensure_present(module, client, owner, tags or [], moment)
    return ensure_gone(module, client, owner, tags, moment)


def main():
    argument_spec = {
        "user": {"type": "str"},
        "tags": {"type": "list", "elements": "str"},
        "reusable": {"type": "bool"},
        "ephemeral": {"type": "bool"},
        "expiration": {"type": "str", "default": "1h"},
        "state": {"type": "str", "default": "present", "choices": ["present", "expired", "absent"]},
        "id": {"type": "int"},
        "force_create": {"type": "bool", "default": False},
    }
    selectors = ("id", "user", "tags")
    run_module(argument_spec, handle, check=check, gates=GATES,
               required_if=[("state", "expired", selectors, True), ("state", "absent", selectors, True)])


if __name__ == "__main__":
    main()
