# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one error type of the collection, and secret masking for anything it carries."""

from __future__ import annotations

import shlex

MASK = "********"


def mask_secrets(text, secrets):
    """Replace every known secret value in ``text`` (a str, list of str or None)."""
    if text is None:
        return None
    if isinstance(text, (list, tuple)):
        return [mask_secrets(item, secrets) for item in text]
    for secret in secrets or ():
        if secret:
            text = text.replace(secret, MASK)
    return text


class HeadscaleError(Exception):
    """A failure a user can act on.

    ``msg`` is one sentence saying what went wrong and, where possible, what to do.
    ``cmd`` is the argv (CLI) or ``METHOD URL`` (API) with secrets already masked.
    """

    def __init__(self, msg, *, cmd=None, rc=None, stdout=None, stderr=None, status=None, secrets=()):
        super().__init__(msg)
        self.msg = mask_secrets(msg, secrets)
        self.cmd = mask_secrets(cmd, secrets)
        self.rc = rc
        self.stdout = mask_secrets(stdout, secrets)
        self.stderr = mask_secrets(stderr, secrets)
        self.status = status

    def __str__(self):
        return self.msg

    def cmd_string(self):
        if isinstance(self.cmd, (list, tuple)):
            return " ".join(shlex.quote(part) for part in self.cmd)
        return self.cmd

    def fail_kwargs(self):
        """Keyword arguments for the module's single ``fail_json`` call."""
        result = {"msg": self.msg}
        for name in ("rc", "stdout", "stderr", "status"):
            value = getattr(self, name)
            if value is not None:
                result[name] = value
        if self.cmd is not None:
            result["cmd"] = self.cmd_string()
        return result
