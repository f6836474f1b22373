# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every module does around its own logic: build the AnsibleModule with the connection options,
create the client, turn the one error type into ONE ``fail_json``, and make results JSON-safe."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.headscale_client import (
    HeadscaleClient,
    connection_argument_spec,
)
from ansible_collections.selfhosted.headscale.plugins.module_utils.normalize import jsonable
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError


def run_module(argument_spec, handler, **module_kwargs):
    """``handler(module, client) -> result dict``; exits the process with that result or one failure."""
    spec = dict(argument_spec)
    spec.update(connection_argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **module_kwargs)
    try:
        client = HeadscaleClient.from_module(module)
        result = handler(module, client)
    except ValidationError as exc:
        module.fail_json(msg=str(exc))
    except HeadscaleError as exc:
        module.fail_json(**exc.fail_kwargs())
    module.exit_json(**jsonable(result))


def diff_result(before, after):
    """``{"before": …, "after": …}`` for ``module._diff``; ``None`` (absent) shows as ``{}``."""
    return {"before": jsonable(before or {}), "after": jsonable(after or {})}
