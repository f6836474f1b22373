"""Input validation: pure functions, messages name the field and the fix."""

from __future__ import annotations

import json

import pytest
from ansible_collections.selfhosted.headscale.plugins.module_utils import validation
from ansible_collections.selfhosted.headscale.plugins.module_utils.validation import ValidationError

from tests.unit.recordings import FIXTURES, version_tuple


@pytest.mark.parametrize("value", ["10.0.0.0/24", "0.0.0.0/0", "::/0", "fd7a:115c:a1e0::/48", "192.168.1.1/32"])
def test_cidr_accepts_canonical_prefixes(value):
    assert validation.cidr(value) == value


@pytest.mark.parametrize(("value", "message"), [
    ("10.0.0.0/33", "route '10.0.0.0/33' is not a valid CIDR prefix: it needs a prefix length from 0 to 32 after '/' "
                    "for IPv4."),
    ("fe80::/129", "route 'fe80::/129' is not a valid CIDR prefix: it needs a prefix length from 0 to 128 after '/' "
                   "for IPv6."),
    ("abc", "route 'abc' is not a valid CIDR prefix (expected e.g. 10.0.0.0/24 or fd00::/64)."),
    ("10.0.0.0", "route '10.0.0.0' is not a valid CIDR prefix: it needs a prefix length from 0 to 32 after '/' "
                 "for IPv4."),
    ("10.0.0.1/24", "route '10.0.0.1/24' has host bits set; the canonical prefix is '10.0.0.0/24'."),
    ("fd00::1/64", "route 'fd00::1/64' has host bits set; the canonical prefix is 'fd00::/64'."),
    ("FD00::/64", "route 'FD00::/64' is not in canonical form; write it as 'fd00::/64'."),
    ("10.0.0.0/024", "route '10.0.0.0/024' is not in canonical form; write it as '10.0.0.0/24'."),
    ("", "route '' is not a valid CIDR prefix (expected e.g. 10.0.0.0/24 or fd00::/64)."),
])
def test_cidr_rejects_with_a_message_naming_the_fix(value, message):
    with pytest.raises(ValidationError) as info:
        validation.cidr(value)
    assert str(info.value) == message


def test_cidrs_names_the_option_dedups_and_sorts():
    assert validation.cidrs(["::/0", "10.0.0.0/8", "0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/24"]) == [
        "0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/24", "::/0"]
    with pytest.raises(ValidationError, match=r"^routes item '10\.0\.0\.1/8' has host bits set"):
        validation.cidrs(["10.0.0.0/8", "10.0.0.1/8"])


def test_tags():
    assert validation.tags(["tag:web", "tag:db", "tag:web"]) == ["tag:db", "tag:web"]
    with pytest.raises(ValidationError) as info:
        validation.tags(["web"])
    assert str(info.value) == "tags item 'web' must start with 'tag:' (e.g. 'tag:web')."
    with pytest.raises(ValidationError, match="is not a valid tag"):
        validation.tag("tag:Has Space")
    with pytest.raises(ValidationError, match="is not a valid tag"):
        validation.tag("tag:")


@pytest.mark.parametrize(("text", "seconds"), [
    ("30m", 1800), ("24h", 86400), ("90d", 90 * 86400), ("1y", 365 * 86400), ("2w", 14 * 86400),
    ("1d12h", 36 * 3600), ("45s", 45),
])
def test_expiration(text, seconds):
    assert validation.expiration(text) == seconds


@pytest.mark.parametrize("text", ["abc", "12", "1h1d", "-1h", "1.5h", "", "0h", "1 h", None])
def test_expiration_rejects(text):
    with pytest.raises(ValidationError, match=r"^expiration "):
        validation.expiration(text)


def test_duration_text_roundtrip():
    assert validation.duration_text(36 * 3600) == "1d12h"
    assert validation.expiration(validation.duration_text(400 * 86400 + 61)) == 400 * 86400 + 61


@pytest.mark.parametrize("name", ["alice", "bob.smith", "a1", "user@example.com", "Alice_B-c", "élan"])
def test_username_accepts(name):
    assert validation.username(name) == name


@pytest.mark.parametrize("name", ["a", "1abc", "-x", "a b", "a@b@c", "", "x+y", None])
def test_username_rejects(name):
    with pytest.raises(ValidationError, match=r"^name .* is not a valid headscale user name"):
        validation.username(name)


def test_nodename():
    assert validation.nodename("router-1") == "router-1"
    for bad in ("Router", "-x", "x-", "a_b", "a" * 64, ""):
        with pytest.raises(ValidationError, match="is not a valid node name"):
            validation.nodename(bad)


def test_required():
    assert validation.required("a b", "user") == "a b"
    for bad in (None, "", "  "):
        with pytest.raises(ValidationError, match=r"^user must not be empty\.$"):
            validation.required(bad, "user")


@pytest.mark.parametrize(("value", "expected"), [
    ("https://headscale.example.com", "https://headscale.example.com"),
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
    ("https://[fd00::1]:8443/headscale", "https://[fd00::1]:8443/headscale"),
    ("HTTPS://Headscale.Example.com", "HTTPS://Headscale.Example.com"),
])
def test_api_url_accepts_http_and_https_base_urls(value, expected):
    assert validation.api_url(value) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("not a url", "api_url 'not a url' is not an http:// or https:// URL"),
    ("headscale.example.com", "api_url 'headscale.example.com' is not an http:// or https:// URL"),
    ("ftp://headscale.example.com", "api_url 'ftp://headscale.example.com' is not an http:// or https:// URL"),
    ("unix:///var/run/headscale/headscale.sock", "api_url 'unix:///var/run/headscale/headscale.sock' is not an http"),
    ("https://", "api_url 'https://' has no valid host"),
    ("http:///api/v1", "api_url 'http:///api/v1' has no valid host"),
    ("https://head scale.example.com", "api_url 'https://head scale.example.com' has no valid host"),
    ("https://headscale.example.com:99999", "api_url 'https://headscale.example.com:99999' is not a valid URL"),
    ("https://headscale.example.com:0", "api_url 'https://headscale.example.com:0' has port 0"),
    ("https://user:pw@headscale.example.com", "api_url 'https://user:pw@headscale.example.com' must not contain "
                                              "credentials"),
    ("https://headscale.example.com/?x=1", "api_url 'https://headscale.example.com/?x=1' must not have a query"),
    ("", "api_url '' is not an http:// or https:// URL"),
])
def test_api_url_rejects_with_a_message_naming_api_url(value, message):
    with pytest.raises(ValidationError) as info:
        validation.api_url(value)
    assert str(info.value).startswith(message)


def test_node_ref():
    assert validation.node_ref("router-1") == "router-1"
    with pytest.raises(ValidationError, match="node must be a node ID"):
        validation.node_ref(" ")


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        (["10.10.0.1/24"], "routes item '10.10.0.1/24' has host bits set; the canonical prefix is '10.10.0.0/24'"),
        (["::/0"], "routes item '::/0' is an exit route; set exit_node: true"),
        (["10.10.0.0"], "needs a prefix length"),
    ],
)
def test_subnet_routes(routes, message):
    with pytest.raises(ValidationError) as caught:
        validation.subnet_routes(routes)
    assert message in str(caught.value)


def test_subnet_routes_sorts_and_deduplicates():
    assert validation.subnet_routes(["fd00:10::/64", "10.20.0.0/24", "10.20.0.0/24"]) == [
        "10.20.0.0/24", "fd00:10::/64"]


@pytest.mark.parametrize("value", ["tomorrow", "2031-13-01T00:00:00Z", "", "2031-01-02"])
def test_expiry_rejects_what_headscale_would_not_take(value):
    with pytest.raises(ValidationError, match="use 'now', 'never' or an RFC 3339 time"):
        validation.expiry(value)


def test_expiry_keywords():
    assert validation.expiry("NOW") == ("now", None)
    assert validation.expiry("never") == ("never", None)


# -- registration IDs ---------------------------------------------------------------------------------
REGISTER_RECORDINGS = {"0.26.1": "cli-nodes-register", "0.27.1": "cli-nodes-register",
                       "0.28.0": "cli-nodes-register", "0.29.3": "cli-auth-register"}


@pytest.mark.parametrize("version", sorted(REGISTER_RECORDINGS))
def test_registration_ids_headscale_accepted_pass(version):
    record = json.loads((FIXTURES / version / f"{REGISTER_RECORDINGS[version]}.json").read_text())
    assert record["rc"] == 0
    flag = "--auth-id" if "--auth-id" in record["argv"] else "--key"
    registration_id = record["argv"][record["argv"].index(flag) + 1]
    auth_register = version_tuple(version) >= (0, 29)
    assert validation.registration_id_error(registration_id, auth_register) is None
    # The other generation's format is refused, with the expected shape named.
    other = validation.registration_id_error(registration_id, not auth_register)
    assert other is not None and "expected" in other


@pytest.mark.parametrize("version", ["0.26.1", "0.29.3"])
def test_a_preauth_key_is_not_a_registration_id(version):
    record = json.loads((FIXTURES / version / "cli-preauthkeys-create.json").read_text())
    key = json.loads(record["stdout"])["key"]
    message = validation.registration_id_error(key, version_tuple(version) >= (0, 29))
    assert message.startswith("registration_id looks like a pre-auth or API key")
    assert key not in message
