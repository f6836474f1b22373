"""The collection's test plugins (plugins/test/): the input formats every role's preflight checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible_collections.selfhosted.headscale.plugins.module_utils import versions
from ansible_collections.selfhosted.headscale.plugins.test.formats import TestModule as FormatTests

PLUGINS = Path(__file__).resolve().parents[4] / "plugins" / "test"
PREFLIGHT = Path(__file__).resolve().parents[4] / "roles" / "headscale" / "tasks" / "preflight.yml"


TESTS = FormatTests().tests()


def plugin(name):
    return TESTS[name]


def test_each_test_is_documented_under_its_name():
    documented = sorted(path.stem for path in PLUGINS.glob("*.yml"))
    assert documented == sorted(TESTS)
    for name in documented:
        assert yaml.safe_load((PLUGINS / f"{name}.yml").read_text())["DOCUMENTATION"]["name"] == name


@pytest.mark.parametrize(("value", "kwargs", "expected"), [
    ("0.29.3", {}, True),
    ("0.28.0-beta.2", {}, True),
    ("0.28.0-beta.2", {"prerelease": False}, False),
    ("1.102.3", {"prerelease": False}, True),
    ("v0.29.3", {}, False),
    ("0.29", {}, False),
    ("latest", {}, False),
    ("0.29.3-dev", {}, False),
    (29, {}, False),
])
def test_release_version(value, kwargs, expected):
    assert plugin("release_version")(value, **kwargs) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("0.26.0", True), ("0.26.1", True), ("0.29.3", True), ("0.29.0-rc.1", True),
    ("0.25.9", False), ("0.30.0", False), ("0.30.0-beta.1", False), ("v0.29.3", False), ("0.29", False),
])
def test_headscale_release_is_the_supported_range_of_releases(value, expected):
    assert plugin("headscale_release")(value) is expected


def test_the_modules_also_take_the_development_minor_the_role_does_not_install():
    assert versions.MIN_SUPPORTED <= versions.RELEASES_MAX_EXCLUSIVE <= versions.MAX_EXCLUSIVE
    development = "%d.%d.0" % versions.RELEASES_MAX_EXCLUSIVE[:2]
    versions.check_supported(versions.parse_version(development), "test")
    assert not plugin("headscale_release")(development)


def test_the_role_message_names_the_releases_of_the_bounds():
    first = "%d.%d.x" % versions.MIN_SUPPORTED[:2]
    last = "%d.%d.x" % (versions.RELEASES_MAX_EXCLUSIVE[0], versions.RELEASES_MAX_EXCLUSIVE[1] - 1)
    text = PREFLIGHT.read_text()
    assert "headscale_version is selfhosted.headscale.headscale_release" in text
    assert re.search(r"from %s up to %s" % (re.escape(first), re.escape(last)), text)


URLS = [
    # value, path, schemes, scheme_required, expected
    ("https://hs.example.test", "root", None, True, True),
    ("https://hs.example.test:8443/", "root", None, True, True),
    ("http://[fd7a::1]:8080", "root", None, True, True),
    ("https://hs.example.test/headscale", "root", None, True, False),
    ("https://hs.example.test:99999", "root", None, True, False),
    ("hs.example.test", "root", None, True, False),
    ("ftp://hs.example.test", "any", None, True, False),
    ("https://id.example.test/realms/x", "any", None, True, True),
    ("https://id.example.test/a b", "any", None, True, False),
    ("http://pebble.test:14000/dir", "any", ["https"], True, False),
    ("https://pebble.test:14000/dir", "any", ["https"], True, True),
    ("headscale:8080", "none", None, False, True),
    ("http://headscale:8080", "none", None, False, True),
    ("http://headscale:8080/", "none", None, False, False),
    ("http://headscale:8080/headscale", "none", None, False, False),
    ("headplane:99999", "none", None, False, False),
    (None, "any", None, True, False),
]


@pytest.mark.parametrize(("value", "path", "schemes", "scheme_required", "expected"), URLS)
def test_http_url(value, path, schemes, scheme_required, expected):
    kwargs = {"path": path, "scheme_required": scheme_required}
    if schemes:
        kwargs["schemes"] = schemes
    assert plugin("http_url")(value, **kwargs) is expected


def test_http_url_refuses_an_unknown_path_kind():
    with pytest.raises(ValueError, match="path must be one of"):
        plugin("http_url")("https://x", path="some")


@pytest.mark.parametrize(("value", "expected"), [
    ("0.0.0.0:8080", True), (":9090", True), ("[::1]:50443", True), ("localhost:1", True),
    ("0.0.0.0", False), ("0.0.0.0:0", False), ("0.0.0.0:65536", False), ("::1:8080", False),
])
def test_listen_address(value, expected):
    assert plugin("listen_address")(value) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("laptop", True), ("tailnet.example.test", True), ("a-b.c", True), ("x" * 63, True),
    ("x" * 64, False), ("-laptop", False), ("laptop-", False), ("my_laptop", False), ("a..b", False),
    (".".join(["x" * 63] * 4), False), ("", False),
])
def test_dns_name(value, expected):
    assert plugin("dns_name")(value) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("192.0.2.53", True), ("2001:db8::53", True), ("256.0.0.1", False), ("dns.example.test", False),
    ("192.0.2.0/24", False),
])
def test_ip_address(value, expected):
    assert plugin("ip_address")(value) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("172.30.0.0/24", True), ("10.0.0.0/8", True), ("0.0.0.0/0", True), ("fd7a:115c:a1e0::/48", True),
    ("::/0", True), ("172.30.0.0", False), ("172.300.0.0/24", False), ("10.0.0.0/33", False),
    ("fd7a::/129", False), ("example.test/24", False),
])
def test_ip_prefix(value, expected):
    assert plugin("ip_prefix")(value) is expected
