"""Unit tests of testbed/networks.py, the overlap guard of the test bed's docker networks.

The parsers are fed with recordings of the real programs on a machine of the project's kind
(recordings/: `ip -j route`, `ip -j -6 route`, `ip -j addr`, `docker network inspect bridge
tb-rec` with tb-rec created by `networks.py create tb-rec 198.18.250.0/24 --internal`, and apt's
debian.sources). The egress guard's planning and parsing are fed with recordings/guard/, written
by recordings/record_guard.sh (iptables -S / -L -v -x -n, dmesg and the script's own output for
a network tb-guard before, with, and after its guard, one packet dropped; the package mirror's
address replaced by MIRROR). The last tests run the script for real against this machine.
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


# ---------------------------------------------------------------- egress guard

GUARD = RECORDINGS / "guard"
GUARD_NET = "tb-guard"
GUARD_CHAIN = "HSLAB-tb-guard"
ALLOWED = [net(c) for c in networks.ALLOWED_RANGES]


def guard_recording(name: str) -> str:
    return (GUARD / name).read_text(encoding="utf-8")


def recorded_bridge() -> str:
    bridge = networks.guard_bridge(guard_recording(f"iptables-S-{GUARD_CHAIN}.txt"), GUARD_CHAIN)
    assert bridge and bridge.startswith("br-")
    return bridge


def test_guard_chain_names():
    assert networks.guard_chain("testbed-smoke") == "HSLAB-testbed-smoke"
    assert networks.guard_chain("x" * 22) == "HSLAB-" + "x" * 22
    long_name = networks.guard_chain("x" * 23)
    assert long_name.startswith("HSLAB-") and len(long_name) == 18 and long_name != networks.guard_chain("y" * 23)
    assert len(networks.guard_chain("a:b")) == 18  # characters iptables would not take as they are
    assert len(networks.log_prefix("n" * 40)) <= 29
    assert len(networks.tailnet_log_prefix("n" * 40)) <= 29
    assert networks.log_prefix("tb") not in networks.tailnet_log_prefix("tb")


def test_planned_rules_are_what_iptables_prints():
    bridge = recorded_bridge()
    desired = networks.guard_rules(GUARD_NET, bridge, ["MIRROR"], ALLOWED)
    assert desired == networks.rules_of(guard_recording(f"iptables-S-{GUARD_CHAIN}.txt"), GUARD_CHAIN)
    # (other scenarios' guards may be hooked as well: the recording is of a busy machine)
    hooks = networks.rules_of(guard_recording("iptables-S-DOCKER-USER.txt"), "DOCKER-USER")
    assert [rule for rule in hooks if networks.jumps_to(rule, GUARD_CHAIN)] == [networks.hook_rule(GUARD_NET, bridge)]
    assert hooks.index(networks.hook_rule(GUARD_NET, bridge)) < hooks.index("-A DOCKER-USER -j RETURN")


def test_plan_guard_from_nothing():
    bridge = recorded_bridge()
    desired = networks.guard_rules(GUARD_NET, bridge, ["MIRROR"], ALLOWED)
    actions = networks.plan_guard(
        GUARD_NET, bridge, desired, None, guard_recording("iptables-S-DOCKER-USER-before.txt")
    )
    tailnet_prefix = ["--log-prefix", "HSLAB tb-guard tailnet: "]
    assert actions[0] == ["-N", GUARD_CHAIN]
    assert actions[1:9] == [
        ["-A", GUARD_CHAIN, "-o", bridge, "-j", "RETURN"],
        ["-A", GUARD_CHAIN, "-d", "198.18.0.0/15", "-o", "br-+", "-j", "RETURN"],
        ["-A", GUARD_CHAIN, "-d", "198.51.100.0/24", "-o", "br-+", "-j", "RETURN"],
        ["-A", GUARD_CHAIN, "-d", "MIRROR/32", "-p", "tcp", "-m", "multiport", "--dports", "80,443", "-j", "RETURN"],
        ["-A", GUARD_CHAIN, "-d", "100.64.0.0/10", "-m", "limit", "--limit", "10/min", "-j", "LOG", *tailnet_prefix],
        ["-A", GUARD_CHAIN, "-d", "100.64.0.0/10", "-j", "DROP"],
        ["-A", GUARD_CHAIN, "-m", "limit", "--limit", "10/min", "-j", "LOG", "--log-prefix", "HSLAB tb-guard: "],
        ["-A", GUARD_CHAIN, "-j", "DROP"],
    ]
    # inserted first: appended after Docker's unconditional RETURN it would never match
    assert actions[9:] == [["-I", "DOCKER-USER", "1", "-i", bridge, "-j", GUARD_CHAIN]]


def test_plan_guard_is_idempotent():
    bridge = recorded_bridge()
    desired = networks.guard_rules(GUARD_NET, bridge, ["MIRROR"], ALLOWED)
    current = guard_recording(f"iptables-S-{GUARD_CHAIN}.txt")
    assert networks.plan_guard(GUARD_NET, bridge, desired, current, guard_recording("iptables-S-DOCKER-USER.txt")) == []


def test_plan_guard_repairs():
    bridge = recorded_bridge()
    chain = guard_recording(f"iptables-S-{GUARD_CHAIN}.txt")
    hooked = guard_recording("iptables-S-DOCKER-USER.txt")
    # the network was recreated: new bridge, so the chain is rebuilt and the hook moved
    desired = networks.guard_rules(GUARD_NET, "br-000000000000", ["MIRROR"], ALLOWED)
    actions = networks.plan_guard(GUARD_NET, "br-000000000000", desired, chain, hooked)
    assert actions[0] == ["-F", GUARD_CHAIN]
    assert actions[-2:] == [
        ["-D", "DOCKER-USER", "-i", bridge, "-j", GUARD_CHAIN],
        ["-I", "DOCKER-USER", "1", "-i", "br-000000000000", "-j", GUARD_CHAIN],
    ]
    # the mirror moved: the chain is rebuilt, the hook stays
    desired = networks.guard_rules(GUARD_NET, bridge, ["MIRROR2"], ALLOWED)
    actions = networks.plan_guard(GUARD_NET, bridge, desired, chain, hooked)
    assert actions[0] == ["-F", GUARD_CHAIN] and len(actions) == 1 + len(desired)
    assert not any("DOCKER-USER" in action for action in actions)
    # an empty chain of that name: filled, not created again
    desired = networks.guard_rules(GUARD_NET, bridge, ["MIRROR"], ALLOWED)
    actions = networks.plan_guard(GUARD_NET, bridge, desired, f"-N {GUARD_CHAIN}\n", hooked)
    assert [a[0] for a in actions] == ["-A"] * len(desired)
    # a hook twice, or behind Docker's RETURN: every copy deleted, one inserted in front
    hook = networks.hook_rule(GUARD_NET, bridge)
    for hook_text in (f"{hooked}{hook}\n", hooked.replace(f"{hook}\n", "") + f"{hook}\n"):
        actions = networks.plan_guard(GUARD_NET, bridge, desired, chain, hook_text)
        deletes = [a for a in actions if a[0] == "-D"]
        assert len(deletes) == hook_text.count(hook) and actions[-1][:3] == ["-I", "DOCKER-USER", "1"]


def test_hook_in_place():
    """What `egress` reports as "hooked": a guard whose hook is missing, doubled or behind
    Docker's RETURN sees nothing, and must not read as a clean 0/0."""
    bridge = recorded_bridge()
    hooked = guard_recording("iptables-S-DOCKER-USER.txt")
    hook = networks.hook_rule(GUARD_NET, bridge)
    assert networks.hook_in_place(GUARD_NET, bridge, hooked)
    assert not networks.hook_in_place(GUARD_NET, bridge, hooked.replace(f"{hook}\n", ""))
    assert not networks.hook_in_place(GUARD_NET, bridge, f"{hooked}{hook}\n")
    assert not networks.hook_in_place(GUARD_NET, bridge, hooked.replace(f"{hook}\n", "") + f"{hook}\n")
    assert not networks.hook_in_place(GUARD_NET, "br-000000000000", hooked)  # the network was recreated
    assert not networks.hook_in_place(GUARD_NET, None, hooked)


def test_plan_unguard():
    chain = guard_recording(f"iptables-S-{GUARD_CHAIN}.txt")
    assert networks.plan_unguard(GUARD_NET, chain, guard_recording("iptables-S-DOCKER-USER.txt")) == [
        ["-D", "DOCKER-USER", "-i", recorded_bridge(), "-j", GUARD_CHAIN],
        ["-F", GUARD_CHAIN],
        ["-X", GUARD_CHAIN],
    ]
    assert networks.plan_unguard(GUARD_NET, None, guard_recording("iptables-S-DOCKER-USER-after.txt")) == []
    # another network's guard is never touched
    assert networks.plan_unguard("tb-other", None, guard_recording("iptables-S-DOCKER-USER.txt")) == []
    for name in ("iptables-S-DOCKER-USER-before.txt", "iptables-S-DOCKER-USER-after.txt"):
        assert not any(
            networks.jumps_to(rule, GUARD_CHAIN) for rule in networks.rules_of(guard_recording(name), "DOCKER-USER")
        )
    assert GUARD_CHAIN not in guard_recording("iptables-S-hslab-after-remove.txt")


def test_counters_and_summary():
    rows = networks.parse_counters(guard_recording(f"iptables-L-{GUARD_CHAIN}.txt"))
    assert [(r["target"], r["destination"], r["packets"]) for r in rows] == [
        ("RETURN", "0.0.0.0/0", 0),
        ("RETURN", "198.18.0.0/15", 0),
        ("RETURN", "198.51.100.0/24", 0),
        ("RETURN", "MIRROR", 0),
        ("LOG", "100.64.0.0/10", 1),
        ("DROP", "100.64.0.0/10", 1),
        ("LOG", "0.0.0.0/0", 1),
        ("DROP", "0.0.0.0/0", 1),
    ]
    assert rows[3]["match"] == "multiport dports 80,443"
    hook_rows = networks.parse_counters(guard_recording("iptables-L-DOCKER-USER.txt"))
    assert [(r["in"], r["packets"]) for r in hook_rows if r["target"] == GUARD_CHAIN] == [(recorded_bridge(), 2)]
    assert hook_rows[-1]["target"] == "RETURN" and hook_rows[-1]["in"] == "*"
    summary = networks.summarize_guard(GUARD_NET, recorded_bridge(), rows, hook_rows)
    recorded = json.loads(guard_recording("egress.json"))
    assert recorded["dropped_packets"] == 1 and recorded["unguarded"] == []
    logged = {key: recorded["networks"][0][key] for key in ("logged", "tailnet_logged")}
    assert {**summary, **logged} == recorded["networks"][0]
    assert (summary["dropped_packets"], summary["dropped_bytes"], summary["tailnet_packets"]) == (1, 41, 1)
    assert guard_recording("egress.txt").splitlines()[-1] == "(exit 1)"


def test_dropped_packets_from_the_kernel_log():
    text = guard_recording(f"dmesg-{GUARD_CHAIN}.txt")
    bridge = recorded_bridge()
    # lines of earlier networks of the same name (other bridges) are left out
    assert networks.dropped_from_kernel_log(text, networks.log_prefix(GUARD_NET), bridge) == [
        "198.18.251.20 -> 198.19.255.254 UDP dport 9"
    ]
    assert networks.dropped_from_kernel_log(text, networks.tailnet_log_prefix(GUARD_NET), bridge) == [
        "198.18.251.20 -> 100.100.100.100 UDP dport 9"
    ]
    assert networks.dropped_from_kernel_log(text, networks.log_prefix(GUARD_NET), "br-000000000000") == []
    assert networks.dropped_from_kernel_log(text, networks.log_prefix("tb-other"), None) == []


def test_tailscaled_gro_probe_is_an_icmp_error_to_the_tailnet_range():
    # Recorded from molecule/default (guard before the tailnet rule): tailscaled's TUN GRO
    # probe (TTL 0, 100.100.100.100 -> 100.100.100.100) makes each node's kernel send an ICMP
    # time-exceeded to 100.100.100.100 through its default route, i.e. out of the bridge.
    text = guard_recording("dmesg-tailscaled-gro-probe.txt")
    found = networks.dropped_from_kernel_log(text, networks.log_prefix("testbed-default"), None)
    assert found == ["198.18.20.11 -> 100.100.100.100 ICMP type 11", "198.18.20.10 -> 100.100.100.100 ICMP type 11"]
    assert all(ipaddress.ip_address("100.100.100.100") in net(networks.TAILNET_RANGE) for _line in found)


def test_jumps_to():
    assert networks.jumps_to("-A DOCKER-USER -i br-1 -j HSLAB-a", "HSLAB-a")
    assert not networks.jumps_to("-A DOCKER-USER -i br-1 -j HSLAB-ab", "HSLAB-a")
    assert not networks.jumps_to("-A DOCKER-USER -j RETURN", "HSLAB-a")


def test_egress_of_a_network_without_guard_on_this_machine():
    result = run_script("egress", "tb-never-created-here")
    assert result.returncode == 2
    assert "no egress guard (HSLAB-tb-never-created-here does not exist)" in result.stderr
