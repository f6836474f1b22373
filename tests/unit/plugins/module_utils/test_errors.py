"""The one error type: secrets masked in everything it carries."""

from __future__ import annotations

from ansible_collections.selfhosted.headscale.plugins.module_utils.errors import MASK, HeadscaleError


def test_secrets_are_masked_everywhere():
    secret = "2640bd91a48a9154d1ba65ba6d9f2a224a0aaf451088d5c0"
    error = HeadscaleError("could not expire %s" % secret, cmd=["headscale", "preauthkeys", "expire", secret],
                           stdout=secret, stderr="key %s" % secret, secrets=[secret])
    assert secret not in str(error.fail_kwargs())
    assert error.fail_kwargs()["cmd"] == "headscale preauthkeys expire '%s'" % MASK
