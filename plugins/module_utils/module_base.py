# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every module does around its own logic, in this order, before the handler runs:

1. AnsibleModule checks the argument spec and the constraints the module declares
   (``required_if``, ``required_one_of``, ``mutually_exclusive``, ``choices``, …);
2. the module's ``check(params, client)`` validates (and normalises) every input value;
3. its version gates (``Gate``) refuse an option the detected headscale is too old for, all with one
   message template (``versions.needs_message``);
4. ``handler(module, client)`` plans and applies.

``ValidationError`` and ``HeadscaleError`` become ONE ``fail_json``; results are made JSON-safe.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import HeadscaleError
from ansible_collections.selfhosted.headscale.plugins.module_utils.headscale_client import (
    HeadscaleClient,
    connection_argument_spec,
)
from ansible_collections.selfhosted.headscale.plugins.module_utils.normalize import jsonable
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError
from ansible_collections.selfhosted.headscale.plugins.module_utils.versions import needs_message


class Gate:
    """An option (value) that needs a newer headscale.

    ``what`` names the option and value for the message; ``applies(params)`` says whether this run asks
    for it (the server's version is only detected when one does); ``feature`` is a ``versions.GATES`` name.
    """

    def __init__(self, what, feature, applies, hint=None):
        self.what = what
        self.feature = feature
        self.applies = applies
        self.hint = hint

    def refusal(self, params, client):
        """The message when this run asks for the option and the server lacks it, else ``None``."""
        if not self.applies(params):
            return None
        features = client.features
        if getattr(features, self.feature):
            return None
        return needs_message(self.what, self.feature, features.version, self.hint)


def validate(params, client, check=None, gates=()):
    """Steps 2 and 3 on ``params`` (normalised in place); raises ``ValidationError``."""
    if check is not None:
        params.update(check(params, client) or {})
    for gate in gates:
        refusal = gate.refusal(params, client)
        if refusal:
            raise ValidationError(refusal)


def run_module(argument_spec, handler, check=None, gates=(), **constraints):
    """Build the module, validate everything, then ``handler(module, client) -> result dict``.

    ``check(params, client)`` raises ``ValidationError`` for bad input and returns a dict of normalised
    values that replace the given ones in ``module.params`` (or ``None``). ``gates``: ``Gate`` objects.
    ``constraints``: AnsibleModule keyword arguments.
    """
    spec = dict(argument_spec)
    spec.update(connection_argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **constraints)
    try:
        client = HeadscaleClient.from_module(module)
        validate(module.params, client, check, gates)
        result = handler(module, client)
    except ValidationError as exc:
        module.fail_json(msg=str(exc))
    except HeadscaleError as exc:
        module.fail_json(**exc.fail_kwargs())
    module.exit_json(**jsonable(result))


def diff_result(before, after):
    """``{"before": …, "after": …}`` for ``module._diff``; ``None`` (absent) shows as ``{}``."""
    return {"before": jsonable(before or {}), "after": jsonable(after or {})}
