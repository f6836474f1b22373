#!/usr/bin/python
# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: headplane_config_check
short_description: Check a Headplane configuration file as Headplane would load it
version_added: 0.1.0
description:
  - Headplane validates its C(config.yaml) only when it starts and offers no command to check a file. This
    module applies the rules of Headplane's configuration loader for one release (required keys, types and
    enumerations, the exclusive C(cookie_secret)/C(cookie_secret_path) and API key pairs, the 32-character
    cookie secret, IP address and URL checks, C(${VAR}) expansion in C(*_path) values, C(HEADPLANE_*)
    environment overrides, YAML 1.2 parsing) and fails with one message per problem, each naming the field.
  - It is a re-implementation written from Headplane's source at each supported tag
    (C(app/server/config/schema.ts) and C(loader.ts) for 0.6.1, C(config-schema.ts) and C(load.ts) from
    0.6.2), not Headplane itself.
  - Read-only. Secret files are read to check them (a cookie secret read from a file must be 32 characters
    from Headplane 0.6.2 on) but their content is never returned.
extends_documentation_fragment:
  - selfhosted.headscale.attributes
  - selfhosted.headscale.attributes.info_module
options:
  path:
    description:
      - Path on the managed host of the configuration file to check.
      - Exactly one of O(path) and O(content) is required.
    type: path
  content:
    description:
      - The configuration as text, for example the rendering of a template before it is installed.
    type: str
  headplane_version:
    description:
      - The Headplane release whose loader rules apply.
    type: str
    required: true
    choices: ["0.6.1", "0.6.2", "0.6.3", "0.7.0-beta.4"]
  path_map:
    description:
      - Where the files Headplane reads are on the managed host, for a Headplane that runs in a container.
      - Each key is a path as Headplane sees it (a file, or a directory that maps everything below it), each
        value the same file or directory on the managed host. The longest matching key wins; paths that match
        no key are read as they are.
    type: dict
    default: {}
  read_secrets:
    description:
      - Read the files named by C(*_path) settings (through O(path_map)) and check them.
      - With V(false) the secret files are neither read nor required to exist.
    type: bool
    default: true
  env:
    description:
      - Headplane's environment, for C(HEADPLANE_*) overrides and C(${VAR}) in C(*_path) values.
    type: dict
    default: {}
  fail_on_warnings:
    description:
      - Also fail on warnings (settings Headplane ignores, deprecated settings, an integration it would not
        load).
    type: bool
    default: false
requirements:
  - PyYAML on the managed host
notes:
  - Which checks are Headplane's own and which are ours is listed in RV(problems) by level, V(error) being what
    Headplane refuses at start.
seealso:
  - module: selfhosted.headscale.headscale_apikey
author:
  - selfhosted.headscale contributors (@selfhosted)
"""

EXAMPLES = r"""
---
- name: Check the rendered Headplane configuration before installing it
  selfhosted.headscale.headplane_config_check:
    content: "{{ lookup('ansible.builtin.template', 'headplane-config.yaml.j2') }}"
    headplane_version: "0.6.1"
    path_map:
      /run/secrets/: /opt/headplane/secrets/

- name: Check an installed file without reading secrets
  selfhosted.headscale.headplane_config_check:
    path: /opt/headplane/config/config.yaml
    headplane_version: "0.6.3"
    read_secrets: false
"""

RETURN = r"""
problems:
  description: Every finding, errors first.
  returned: always
  type: list
  elements: dict
  contains:
    field:
      description: The dotted name of the setting, or C((file)) for the file as a whole.
      type: str
    message:
      description: What is wrong.
      type: str
    level:
      description: V(error) (Headplane would not start) or V(warning).
      type: str
  sample: [{field: server.cookie_secret, message: must be exactly 32 characters long (got 40), level: error}]
config:
  description:
    - The configuration as Headplane would use it (defaults filled in, values converted). Settings read from
      secret files show as V(<from PATH>).
  returned: success
  type: dict
secret_files:
  description:
    - The secret settings given as files, with the file on the managed host (after O(path_map)). Their content
      is never returned.
  returned: always
  type: dict
  sample: {server.cookie_secret: /opt/headplane/secrets/headplane_cookie_secret}
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.selfhosted.headscale.plugins.module_utils import headplane_config


def map_path(path, path_map):
    """The host path of a path as Headplane sees it (longest matching key of ``path_map``)."""
    best = None
    for inside, outside in path_map.items():
        inside_dir = inside.rstrip("/")
        if path in (inside, inside_dir) or path.startswith(inside_dir + "/"):
            if best is None or len(inside_dir) > len(best[0]):
                best = (inside_dir, outside)
    if best is None:
        return path
    inside_dir, outside = best
    rest = path[len(inside_dir):].lstrip("/")
    return os.path.join(outside.rstrip("/"), rest) if rest else outside


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path"},
            "content": {"type": "str", "no_log": True},
            "headplane_version": {"type": "str", "required": True,
                                  "choices": list(headplane_config.SUPPORTED_VERSIONS)},
            "path_map": {"type": "dict", "default": {}},
            "read_secrets": {"type": "bool", "default": True},
            "env": {"type": "dict", "default": {}, "no_log": True},
            "fail_on_warnings": {"type": "bool", "default": False},
        },
        mutually_exclusive=[("path", "content")],
        required_one_of=[("path", "content")],
        supports_check_mode=True,
    )
    if not headplane_config.HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    params = module.params
    path_map = {str(k): str(v) for k, v in params["path_map"].items()}
    read_from = {}

    def read_file(path):
        host_path = map_path(path, path_map)
        read_from[path] = host_path
        return headplane_config.read_text_file(host_path)

    if params["path"] is not None:
        try:
            text = headplane_config.read_text_file(params["path"])
        except OSError as exc:
            module.fail_json(msg="cannot read %s: %s" % (params["path"], exc.strerror or exc))
    else:
        text = params["content"]
    env = {str(k): str(v) for k, v in params["env"].items()}
    result = headplane_config.check_text(text, params["headplane_version"], env=env,
                                         read_file=read_file if params["read_secrets"] else None)
    problems = result.errors + result.warnings
    secret_files = {key: read_from.get(path, path) for key, path in result.sources.items()}
    output = {
        "changed": False,
        "problems": [p.as_dict() for p in problems],
        "secret_files": secret_files,
    }
    for warning in result.warnings:
        module.warn("Headplane %s config: %s" % (params["headplane_version"], warning))
    failing = result.errors + (result.warnings if params["fail_on_warnings"] else [])
    if failing:
        what = params["path"] or "the configuration"
        module.fail_json(msg="%s is not a valid Headplane %s configuration: %s"
                             % (what, params["headplane_version"], "; ".join(str(p) for p in failing)),
                         **output)
    output["config"] = result.config
    module.exit_json(**output)


if __name__ == "__main__":
    main()
