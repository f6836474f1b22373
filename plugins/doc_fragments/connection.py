# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by every module; keep in sync with
    # plugins/module_utils/headscale_client.py connection_argument_spec().
    DOCUMENTATION = r"""
options:
  transport:
    description:
      - How to talk to headscale.
      - V(cli) runs the C(headscale) command on the managed host (O(headscale_command), O(config_path)).
      - V(api) uses the REST API at O(api_url) with O(api_key).
      - Defaults to V(api) when O(api_url) is set, otherwise V(cli).
    type: str
    choices: [cli, api]
  headscale_command:
    description:
      - The command that runs the headscale CLI, as a list of arguments.
      - Use a prefix such as V([docker, exec, -i, headscale, headscale]) when headscale runs in a container.
        C(-i) is needed for the policy commands, which pass the policy on standard input.
      - "The modules set E(HEADSCALE_DISABLE_CHECK_UPDATES=true) for the command, but environment variables
        do not pass through C(docker exec) unless given with C(-e); set C(disable_check_updates: true)
        in the server's configuration instead."
    type: list
    elements: str
    default: [headscale]
  config_path:
    description:
      - Path of the headscale configuration file passed as C(-c) to the CLI (inside the container when
        O(headscale_command) is a C(docker exec) prefix).
      - Headscale 0.26 refuses to run without a configuration file.
    type: path
  api_url:
    description:
      - Base URL of the headscale server for O(transport=api), without C(/api/v1), for example
        V(https://headscale.example.com).
    type: str
  api_key:
    description:
      - API key for O(transport=api) (created with C(headscale apikeys create)).
      - If not set, the environment variable E(HEADSCALE_API_KEY) is used.
    type: str
  validate_certs:
    description:
      - Whether to verify the TLS certificate of O(api_url).
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of CA certificates to verify the TLS certificate of O(api_url) with, for a server
        whose certificate comes from a private CA (Caddy's internal CA, a company CA). Without it, the
        system's trusted CAs are used.
    type: path
  timeout:
    description:
      - Timeout in seconds for each REST API request.
    type: int
    default: 30
  headscale_version:
    description:
      - The headscale server version, for example V(0.26.1).
      - By default the version is detected once per run, with C(headscale version) (CLI) or
        C(GET /version) (API, headscale 0.27+); older servers are recognised by the endpoints their
        OpenAPI document lists, which tells the minor version only.
      - Set it when detection is not possible, for example when the OpenAPI document is not served.
    type: str
notes:
  - Supported headscale versions are 0.26.1 to 0.29.x; 0.30 development builds are accepted on a best-effort basis.
"""
