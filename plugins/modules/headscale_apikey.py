#!/usr/bin/python
# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: headscale_apikey
short_description: Manage headscale API keys
version_added: 0.1.0
description:
  - Create, expire, delete and rotate API keys of a headscale server.
  - The secret of an API key is shown by headscale only when the key is created, so RV(key) is set
    only for a key created by this run. Protect it with C(no_log) on the task.
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
    support: partial
    details:
      - O(state=present) without O(prefix) or O(id) creates a new key on every run.
options:
  state:
    description:
      - V(present) without O(prefix)/O(id) creates a new key; with them, checks that the key exists and has
        not expired (no change).
      - V(expired) expires the key selected by O(prefix) or O(id).
      - V(absent) deletes the key selected by O(prefix) or O(id).
      - V(rotated) creates a new key unless an unexpired key younger than O(rotate_older_than) exists, and
        expires every unexpired key older than O(rotate_older_than). When the run itself uses an API key
        (O(transport=api)) that key is expired last.
    type: str
    choices: [present, expired, absent, rotated]
    default: present
  expiration:
    description:
      - Lifetime of a new key as a duration such as V(30d), V(90d) or V(1y).
    type: str
    default: 90d
  prefix:
    description:
      - Prefix of the key to act on, as listed by headscale (C(hskey-api-<12 characters>) from headscale
        0.28, the 7-character prefix before). The listed C(-***) suffix is ignored.
    type: str
  id:
    description:
      - ID of the key to act on.
    type: int
  rotate_older_than:
    description:
      - With O(state=rotated), the age (duration such as V(30d)) from which a key is replaced.
    type: str
seealso:
  - module: selfhosted.headscale.headscale_info
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
---
- name: Create an API key for Headplane
  selfhosted.headscale.headscale_apikey:
    expiration: 90d
  register: headplane_key
  no_log: true

- name: Rotate API keys older than 60 days
  selfhosted.headscale.headscale_apikey:
    state: rotated
    rotate_older_than: 60d
    expiration: 90d
  register: rotation
  no_log: true

- name: Delete an API key
  selfhosted.headscale.headscale_apikey:
    prefix: hskey-api-AbCdEfGhIjKl
    state: absent
"""

RETURN = r"""
key:
  description: The secret of the key created by this run, else V(null).
  returned: always
  type: str
  sample: hskey-api-AbCdEfGhIjKl-...
apikey:
  description: The created key (O(state=present), O(state=rotated)) or the selected key, without secret.
  returned: always
  type: dict
  contains:
    id:
      description: Key ID.
      type: int
    prefix:
      description: Key prefix (the form O(prefix) accepts).
      type: str
    expiration:
      description: Expiry time (RFC 3339, UTC).
      type: str
    created_at:
      description: Creation time (RFC 3339, UTC).
      type: str
    last_seen:
      description: Last use (RFC 3339, UTC), if headscale recorded one.
      type: str
apikeys:
  description: The keys expired or deleted by this run, as they were before.
  returned: always
  type: list
  elements: dict
diff:
  description: Before and after state of the affected keys.
  returned: when diff mode is on
  type: dict
"""

import datetime

from ansible_collections.selfhosted.headscale.plugins.module_utils import validation
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.headscale_client import is_expired, now
from ansible_collections.selfhosted.headscale.plugins.module_utils.module_base import diff_result, run_module
from ansible_collections.selfhosted.headscale.plugins.module_utils.normalize import apikey_prefix


def view(key, moment):
    return {"id": key["id"], "prefix": key["prefix"], "expired": is_expired(key, moment)}


def wanted_prefix(text):
    prefix = apikey_prefix(text)
    if prefix and len(prefix) == 12 and not prefix.startswith("hskey-api-"):
        return "hskey-api-" + prefix  # the bare 12 characters of a 0.28+ key
    return prefix


def select(client, params):
    """The key picked by id/prefix, or ``None``."""
    prefix = wanted_prefix(params["prefix"]) if params["prefix"] else None
    for key in client.list_apikeys():
        if params["id"] is not None and key["id"] != params["id"]:
            continue
        if prefix is not None and key["prefix"] not in (prefix, apikey_prefix(params["prefix"])):
            continue
        return key
    return None


def describe(params):
    return " ".join(part for part in (
        "with ID %s" % params["id"] if params["id"] is not None else "",
        "with prefix %r" % params["prefix"] if params["prefix"] else "") if part)


def create(module, client, result):
    result["changed"] = True
    if module.check_mode:
        return {"id": None, "prefix": None, "expired": False}
    secret, created = client.create_apikey(module.params["expiration"])
    result.update(key=secret, apikey=created)
    return view(created, now()) if created else {"id": None, "prefix": apikey_prefix(secret), "expired": False}


def retire(module, client, keys, action):
    """``action`` (the client's expire or delete) on ``keys``; the key this run authenticates with goes last."""
    if module.check_mode:
        return
    own = apikey_prefix(client.own_api_key())
    for key in sorted(keys, key=lambda item: item["prefix"] == own):
        action(key)


def state_selected(module, client, result, moment):
    params = module.params
    state = params["state"]
    key = select(client, params)
    result["apikey"] = key
    if key is None:
        if state == "absent":
            return [], []
        raise HeadscaleError("API key %s does not exist on headscale." % describe(params))
    if state == "present":
        if is_expired(key, moment):
            raise HeadscaleError("API key %s has expired; create a new one (omit prefix and id)."
                                 % describe(params))
        return [view(key, moment)], [view(key, moment)]
    if state == "expired" and is_expired(key, moment):
        return [view(key, moment)], [view(key, moment)]
    result["changed"] = True
    result["apikeys"] = [key]
    retire(module, client, [key], client.delete_apikey if state == "absent" else client.expire_apikey)
    return [view(key, moment)], ([] if state == "absent" else [dict(view(key, moment), expired=True)])


def state_rotated(module, client, result, moment):
    params = module.params
    cutoff = moment - datetime.timedelta(seconds=validation.expiration(params["rotate_older_than"]))
    valid = [key for key in client.list_apikeys() if not is_expired(key, moment)]
    old = [key for key in valid if key["created_at"] is None or key["created_at"] <= cutoff]
    before = [view(key, moment) for key in valid]
    after = [view(key, moment) for key in valid if key not in old]
    if len(old) == len(valid):  # no key younger than the cutoff: create the replacement first
        after.append(create(module, client, result))
    if old:
        result["changed"] = True
        result["apikeys"] = old
        retire(module, client, old, client.expire_apikey)
        after.extend(dict(view(key, moment), expired=True) for key in old)
    return before, after


def check(params, client):
    validation.expiration(params["expiration"], field="expiration")
    if params["state"] == "rotated":
        validation.expiration(params["rotate_older_than"], field="rotate_older_than")
    elif params["state"] in ("expired", "absent") and params["id"] is None and not params["prefix"]:
        # Not required_if: an empty prefix must not count as given (it would select any key).
        raise validation.ValidationError("state=%s needs prefix or id to select the API key." % params["state"])


def handle(module, client):
    params = module.params
    moment = now()
    result = {"changed": False, "key": None, "apikey": None, "apikeys": []}
    if params["state"] == "rotated":
        before, after = state_rotated(module, client, result, moment)
    elif params["state"] == "present" and params["id"] is None and not params["prefix"]:
        before, after = [], [create(module, client, result)]
    else:
        before, after = state_selected(module, client, result, moment)
    if module._diff:
        result["diff"] = diff_result({"apikeys": before}, {"apikeys": after})
    return result


def main():
    argument_spec = {
        "state": {"type": "str", "default": "present", "choices": ["present", "expired", "absent", "rotated"]},
        "expiration": {"type": "str", "default": "90d"},
        "prefix": {"type": "str"},
        "id": {"type": "int"},
        "rotate_older_than": {"type": "str"},
    }
    run_module(argument_spec, handle, check=check, required_if=[("state", "rotated", ("rotate_older_than",))],
               mutually_exclusive=[("prefix", "id")])


if __name__ == "__main__":
    main()
