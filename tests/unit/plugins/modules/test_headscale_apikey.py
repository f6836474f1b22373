"""headscale_apikey: prefix forms and expiry, fed with normalised recordings."""

from __future__ import annotations

import datetime

from ansible_collections.selfhosted.headscale.plugins.module_utils import normalize
from ansible_collections.selfhosted.headscale.plugins.modules import headscale_apikey as apikey_module

from tests.unit.recordings import cli_json


def test_apikey_prefix_forms_select_the_listed_key(version):
    listed = [normalize.apikey(k) for k in cli_json(version, "apikeys-list")]
    secret = cli_json(version, "apikeys-create")
    prefix = normalize.apikey_prefix(secret)
    forms = {prefix, secret}
    if prefix.startswith("hskey-api-"):
        forms |= {prefix + "-***", prefix[len("hskey-api-"):]}  # display form, bare 12 characters
    else:
        forms.add(prefix + "***")  # how 0.28+ displays legacy keys
    for form in forms:
        wanted = apikey_module.wanted_prefix(form)
        assert any(k["prefix"] in (wanted, normalize.apikey_prefix(form)) for k in listed), form


def test_apikey_expired_one_is_expired(version):
    listed = [normalize.apikey(k) for k in cli_json(version, "apikeys-list")]
    moment = max(k["created_at"] for k in listed) + datetime.timedelta(minutes=1)
    assert sorted(apikey_module.is_expired(k, moment) for k in listed) == [False] * (len(listed) - 1) + [True]
