"""Unit tests of testbed/networks.py, the overlap guard of the test bed's docker networks.

The parsers are fed with recordings of the real programs on a machine of the project's kind
(recordings/: `ip -j route`, `ip -j -6 route`, `ip -j addr`, `docker network inspect bridge
tb-rec` with tb-rec created by `networks.py create tb-rec 198.18.250.0/24 --internal`, and apt's
debian.sources). The last tests run the script for real against this machine.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "testbed" / "networks.py"
RECORDINGS = Path(__file__).resolve().parent / "recordings"

_spec = importlib.util.spec_from_file_location("testbed_networks", SCRIPT)
networks = importlib.util.module_from_spec(_spec)
sys.modules["testbed_networks"] = networks
_spec.loader.exec_module(networks)

net = ipaddress.ip_network


def recording(name: str) -> str:
    return (RECORDINGS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("198.18.10.0/24", "198.18.10.0/24", True),
        ("198.18.10.0/24", "198.18.0.0/15", True),
        ("198.18.0.0/15", "198.18.10.128/25", True),
        ("198.18.10.0/24", "198.18.11.0/24", False),
        ("203.0.113.0/28", "203.0.113.0/24", True),
        ("192.0.2.0/24", "fd00::/64", False),
        ("fd00::/8", "fd00::/64", True),
    ],
)
def test_overlaps(a, b, expected):
    assert networks.overlaps(net(a), net(b)) is expected
    assert networks.overlaps(net(b), net(a)) is expected


def test_parse_cidr_refuses_host_bits_and_garbage():
    assert networks.parse_cidr("198.18.10.0/24") == net("198.18.10.0/24")
    for bad in ("198.18.10.1/24", "nope", "198.18.300.0/24"):
        with pytest.raises(ValueError, match="CIDR"):
            networks.parse_cidr(bad)


def test_outside_allowed():
    allowed = [net(c) for c in networks.ALLOWED_RANGES]
    assert not networks.outside_allowed(net("198.18.10.0/24"), allowed)
    assert not networks.outside_allowed(net("198.51.100.0/24"), allowed)
    assert not networks.outside_allowed(net("198.18.0.0/15"), allowed)
    assert networks.outside_allowed(net("198.16.0.0/12"), allowed)  # wider than allowed
    assert networks.outside_allowed(net("10.0.0.0/24"), allowed)
    assert networks.outside_allowed(net("fd7a::/64"), allowed)


def test_routes_skip_default_and_our_bridges():
    routes = networks.routes_from_ip_json(recording("ip-route.json"), "IPv4")
    assert [str(r.network) for r in routes] == ["172.17.0.0/16", "192.0.2.0/24", "198.18.250.0/24"]
    assert routes[1].reason == "IPv4 route 192.0.2.0/24 dev eth0"
    ours = networks.routes_from_ip_json(recording("ip-route.json"), "IPv4", ["br-6fc30e5ae9e1"])
    assert "198.18.250.0/24" not in [str(r.network) for r in ours]
    six = networks.routes_from_ip_json(recording("ip-6-route.json"), "IPv6")
    assert [str(r.network) for r in six] == ["fd00::/64", "fe80::/64"]


def test_addresses_keep_prefix_and_drop_link_local():
    found = {str(r.network): r.reason for r in networks.addresses_from_ip_json(recording("ip-addr.json"))}
    assert found["192.0.2.0/24"] == "address 192.0.2.2/24 on eth0"
    assert "127.0.0.0/8" in found
    assert "fd00::/64" in found
    assert not any(key.startswith("fe80") for key in found)


def test_hosts_from_apt_sources():
    assert networks.hosts_from_apt_sources(recording("debian.sources")) == ["deb.debian.org"]
    one_line = (
        "deb [arch=amd64 signed-by=/k.gpg] https://mirror.example:8443/debian bookworm main\n"
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://user@src.example/debian bookworm main\n"
        "deb http://[2001:db8::1]/debian bookworm main\n"
    )
    assert networks.hosts_from_apt_sources(one_line) == ["mirror.example", "src.example", "2001:db8::1"]


def test_mirror_is_widened_to_its_slash_24():
    assert networks.widen("203.0.113.80") == net("203.0.113.0/24")
    assert networks.widen("2001:db8::80") == net("2001:db8::/64")


def test_nameservers():
    text = "# comment\nnameserver 10.255.255.53\nsearch example\nnameserver fd00::53\n"
    assert networks.nameservers_from_resolv_conf(text) == ["10.255.255.53", "fd00::53"]


def test_docker_networks_ours_and_theirs():
    found = networks.docker_networks_from_inspect(recording("docker-network-inspect.json"))
    by_name = {n.name: n for n in found}
    assert by_name["bridge"].ours is False
    assert by_name["bridge"].bridge == "docker0"
    assert by_name["tb-rec"].ours is True
    assert by_name["tb-rec"].internal is True
    assert by_name["tb-rec"].subnets == (net("198.18.250.0/24"),)
    assert by_name["tb-rec"].bridge == "br-6fc30e5ae9e1"
    assert [str(r.network) for r in networks.docker_reserved(found)] == ["172.17.0.0/16"]


def test_conflicts_lists_every_reason():
    reserved = networks.routes_from_ip_json(recording("ip-route.json"), "IPv4")
    reserved += networks.addresses_from_ip_json(recording("ip-addr.json"))
    hits = networks.conflicts(net("192.0.2.0/25"), reserved)
    assert [h.reason for h in hits] == ["IPv4 route 192.0.2.0/24 dev eth0", "address 192.0.2.2/24 on eth0"]
    assert networks.conflicts(net("198.51.100.0/24"), reserved) == []


def test_plan_create():
    existing = networks.docker_networks_from_inspect(recording("docker-network-inspect.json"))
    same = networks.plan_create("tb-rec", net("198.18.250.0/24"), True, existing)
    assert same[0] == "exists"
    other_subnet = networks.plan_create("tb-rec", net("198.18.251.0/24"), True, existing)
    assert other_subnet[0] == "error"
    assert "198.18.250.0/24" in other_subnet[1]
    not_internal = networks.plan_create("tb-rec", net("198.18.250.0/24"), False, existing)
    assert not_internal[0] == "error"
    overlapping = networks.plan_create("tb-new", net("198.18.250.128/25"), False, existing)
    assert overlapping == (
        "error",
        "198.18.250.128/25 overlaps docker network 'tb-rec' (198.18.250.0/24); use another subnet",
    )
    assert networks.plan_create("tb-new", net("198.18.252.0/24"), False, existing)[0] == "create"


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)


def test_check_on_this_machine_refuses_its_own_routes():
    routes = json.loads(subprocess.run(["ip", "-j", "route"], capture_output=True, text=True, check=True).stdout)
    own = next(r["dst"] for r in routes if r.get("dst") not in (None, "default") and not r["dev"].startswith("br-"))
    result = run_script("check", own)
    assert result.returncode == 1
    assert f"overlaps IPv4 route {own}" in result.stderr


def test_check_on_this_machine_accepts_a_test_range():
    result = run_script("check", "198.18.249.0/24")
    assert result.returncode == 0, result.stderr
    assert "198.18.249.0/24 ok" in result.stdout
