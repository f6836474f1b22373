#!/usr/bin/python
# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: headscale_policy
short_description: Manage the headscale ACL policy
version_added: 0.1.0
description:
  - Sets the ACL policy of a headscale server from a dictionary, a HuJSON text or a file.
  - The policy is parsed first (comments and trailing commas allowed) and validated by headscale
    (C(headscale policy check); on headscale 0.29 on the server, which also checks users and the
    policy's tests) before anything is written.
  - Compares policies by meaning, not bytes. Comments, whitespace and key order do not count, so a
    reformatted policy is not written again.
  - With O(policy_mode=database) the policy is stored with C(headscale policy set) (CLI or REST API).
    With O(policy_mode=file) the module writes the file headscale reads (O(path)) and runs
    O(reload_command) so that headscale loads it.
  - Works with headscale 0.26.1 to 0.29.x.
extends_documentation_fragment:
  - selfhosted.headscale.connection
  - selfhosted.headscale.attributes
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  policy:
    description:
      - The policy, as a dictionary or as HuJSON text (JSON with comments and trailing commas).
      - A dictionary is written as indented JSON; a text is written as given (comments kept).
      - Exactly one of O(policy) and O(src) is required.
    type: raw
  src:
    description:
      - Path of a HuJSON policy file on the managed host to read the policy from.
      - To use a file from the controller, pass O(policy) with a C(lookup('ansible.builtin.file', ...)).
    type: path
  policy_mode:
    description:
      - How the headscale server is configured to read its policy (its C(policy.mode) setting).
      - V(database) stores the policy in headscale's database through the CLI or API.
      - V(file) writes O(path) on the managed host (the headscale server) and runs O(reload_command).
    type: str
    choices: [database, file]
    default: database
  path:
    description:
      - The policy file headscale reads (its C(policy.path) setting). Required with O(policy_mode=file).
    type: path
  reload_command:
    description:
      - Command run after O(path) changed, to make headscale load the new policy, as a list of arguments
        or a string split like a shell would (no shell is used).
      - For example V([systemctl, reload, headscale]) (the unit sends SIGHUP) or
        V([docker, kill, --signal, HUP, headscale]).
      - Without it the module warns that headscale keeps the old policy until it is reloaded.
    type: raw
  validate:
    description:
      - Let headscale check the policy before it is written.
      - Before headscale 0.29 the check is an offline parse run by the CLI (C(headscale policy check));
        over the REST API only 0.29 and later can check. Without a check, O(policy_mode=database) warns
        (headscale still rejects an invalid policy when it is set) and O(policy_mode=file) fails, since an
        invalid policy file stops headscale at its next start.
    type: bool
    default: true
  backup:
    description:
      - With O(policy_mode=file), keep a timestamped copy of the previous file.
    type: bool
    default: false
  keep_existing:
    description:
      - Set the policy only when headscale has none (O(policy_mode=database)) or the file does not
        exist (O(policy_mode=file)); a policy already there, made by anyone, is left as it is.
      - For a default policy that must not replace one managed elsewhere (Headplane, the CLI).
    type: bool
    default: false
notes:
  - headscale cannot delete a policy stored in its database; this module only sets policies.
  - On a SIGHUP with an invalid policy file, headscale logs an error and keeps the old policy; that is
    why the module validates first.
seealso:
  - module: selfhosted.headscale.headscale_node
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
---
- name: Store the ACL policy in headscale's database
  selfhosted.headscale.headscale_policy:
    policy:
      tagOwners:
        "tag:server": ["alice@"]
      acls:
        - action: accept
          src: ["autogroup:member"]
          dst: ["tag:server:22,443"]

- name: Use a HuJSON file from the controller, keeping its comments
  selfhosted.headscale.headscale_policy:
    policy: "{{ lookup('ansible.builtin.file', 'files/acl.hujson') }}"
    api_url: https://headscale.example.com
    api_key: "{{ headscale_api_key }}"

- name: Headscale with policy.mode file, in a container
  selfhosted.headscale.headscale_policy:
    src: /srv/headscale/staging/acl.hujson
    policy_mode: file
    path: /srv/headscale/config/acl.hujson
    reload_command: [docker, kill, --signal, HUP, headscale]
    headscale_command: [docker, exec, -i, headscale, headscale]
"""

RETURN = r"""
policy:
  description: The policy after the run, parsed (comments dropped).
  returned: always
  type: dict
  sample: {"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}
validated:
  description: Whether headscale validated the policy in this run (V(false) when not possible or not asked).
  returned: always
  type: bool
reloaded:
  description: Whether O(reload_command) ran.
  returned: always
  type: bool
backup_file:
  description: The copy of the previous policy file (O(backup=true)).
  returned: when a backup was made
  type: str
diff:
  description: The policy text before and after.
  returned: when diff mode is on
  type: dict
"""

import json
import os
import shlex
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible_collections.selfhosted.headscale.plugins.module_utils import hujson
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.module_base import run_module
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError


def desired_text(module):
    """The policy text to write, and the option it came from."""
    params = module.params
    if params["src"] is not None:
        try:
            with open(params["src"], "rb") as handle:
                return to_text(handle.read(), errors="surrogate_or_strict"), "src"
        except (OSError, UnicodeError) as exc:
            raise ValidationError("src %r cannot be read: %s" % (params["src"], exc)) from None
    policy = params["policy"]
    if isinstance(policy, dict):
        return json.dumps(policy, indent=2) + "\n", "policy"
    if isinstance(policy, str):
        return policy, "policy"
    raise ValidationError("policy must be a dictionary or a HuJSON text, not %s." % type(policy).__name__)


def parse_policy(text, field):
    try:
        value = hujson.parse(text)
    except hujson.HuJSONError as exc:
        raise ValidationError("%s is not valid HuJSON: %s." % (field, exc)) from None
    if not isinstance(value, dict):
        raise ValidationError("%s must be a JSON object (with keys such as acls, groups, tagOwners)." % field)
    return value


def parse_current(text):
    """The stored policy, parsed; ``None`` when there is none or it does not parse (then it differs)."""
    if text is None or not text.strip():
        return {} if text is not None else None
    try:
        return hujson.parse(text)
    except hujson.HuJSONError:
        return None


def reload_argv(value):
    if value is None:
        return None
    if isinstance(value, str):
        argv = shlex.split(value)
    elif isinstance(value, list):
        argv = [str(item) for item in value]
    else:
        raise ValidationError("reload_command must be a list of arguments or a string.")
    if not argv:
        raise ValidationError("reload_command must not be empty.")
    return argv


def read_file(path):
    try:
        with open(path, "rb") as handle:
            return to_text(handle.read(), errors="surrogate_or_strict")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeError) as exc:
        raise HeadscaleError("path %r cannot be read: %s" % (path, exc)) from None


def write_file(module, path, text):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise HeadscaleError("the directory of path %r does not exist." % path)
    handle, temp = tempfile.mkstemp(dir=directory, prefix=".headscale-policy-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(to_bytes(text))
        module.atomic_move(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def check(params, client):
    file_mode = params["policy_mode"] == "file"
    if file_mode and not params["path"]:  # not required_if: an empty path counts as none
        raise ValidationError("path is required with policy_mode: file (headscale's policy.path).")
    if not file_mode:
        file_only = [name for name in ("path", "reload_command", "mode", "owner", "group", "seuser", "serole",
                                       "selevel", "setype", "attributes")
                     if params.get(name) is not None] + (["backup"] if params["backup"] else [])
        if file_only:
            raise ValidationError("%s only appl%s to policy_mode: file." % (
                ", ".join(file_only), "ies" if len(file_only) == 1 else "y"))
    return {"reload_command": reload_argv(params["reload_command"])}


def handle(module, client):
    params = module.params
    # 1. The wanted policy, read and parsed before any read or write on the server.
    text, field = desired_text(module)
    wanted = parse_policy(text, field)
    file_mode = params["policy_mode"] == "file"
    argv = params["reload_command"]

    # 2. The current policy.
    before_text = read_file(params["path"]) if file_mode else client.get_policy()
    current = parse_current(before_text)
    changed = current is None or hujson.canonical(current) != hujson.canonical(wanted)
    if params["keep_existing"] and before_text is not None:
        changed, wanted = False, current or {}

    result = {"changed": False, "policy": wanted, "validated": False, "reloaded": False}
    if module._diff:
        result["diff"] = {
            "before": before_text or "",
            "after": text if changed else (before_text or ""),
            "before_header": params["path"] if file_mode else "headscale policy (database)",
            "after_header": params["path"] if file_mode else "headscale policy (database)",
        }

    # 3. headscale's own check (also in check mode: it writes nothing).
    if changed and params["validate"]:
        checked = client.check_policy(text)
        result["validated"] = bool(checked)
        if checked is None and file_mode:
            # An unchecked file would only be rejected at the reload (headscale logs an error and keeps the
            # old policy) or, worse, at the next start.
            raise HeadscaleError(
                "headscale %s cannot check a policy over the REST API (0.29 can), and an invalid policy file "
                "would stop headscale at its next start; use transport: cli (the CLI on the headscale host "
                "checks it) or set validate: false to write it unchecked." % client.version)
        if checked is None:
            module.warn("headscale %s cannot check a policy over the REST API (0.29 can); the policy was only "
                        "parsed locally, and headscale validates it when it is set." % client.version)

    # 4. Write.
    if file_mode:
        if changed and not module.check_mode:
            if params["backup"] and before_text is not None:
                result["backup_file"] = module.backup_local(params["path"])
            write_file(module, params["path"], text)
        file_args = module.load_file_common_arguments(params, path=params["path"])
        if os.path.exists(params["path"]) or not module.check_mode:
            changed = module.set_fs_attributes_if_different(file_args, changed)
        if changed and argv:
            if not module.check_mode:
                rc, out, err = module.run_command(argv, check_rc=False)
                if rc != 0:
                    raise HeadscaleError(
                        "the policy file was written but reload_command failed (exit %d): %s"
                        % (rc, (err or out).strip()), cmd=argv, rc=rc, stdout=out, stderr=err)
            result["reloaded"] = True
        elif changed:
            module.warn("the policy file changed but no reload_command is set: headscale keeps the old policy "
                        "until it is reloaded (SIGHUP, e.g. systemctl reload headscale).")
    elif changed and not module.check_mode:
        try:
            client.set_policy(text)
        except HeadscaleError as exc:
            if "modes other than 'database'" in exc.msg:
                exc.msg += (" -- this headscale reads its policy from a file: use policy_mode: file with path "
                            "(its policy.path) and reload_command.")
            raise
    result["changed"] = changed
    return result


def main():
    argument_spec = {
        "policy": {"type": "raw"},
        "src": {"type": "path"},
        "policy_mode": {"type": "str", "default": "database", "choices": ["database", "file"]},
        "path": {"type": "path"},
        "reload_command": {"type": "raw"},
        "validate": {"type": "bool", "default": True},
        "backup": {"type": "bool", "default": False},
        "keep_existing": {"type": "bool", "default": False},
    }
    run_module(argument_spec, handle, check=check, mutually_exclusive=[("policy", "src")],
               required_one_of=[("policy", "src")], add_file_common_args=True)


if __name__ == "__main__":
    main()
