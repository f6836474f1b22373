#!/usr/bin/env python
"""Overlap guard for the test bed's docker networks (python3 standard library only).

    testbed/networks.py check CIDR [CIDR...]         exit 1 when a CIDR is not safe to use
    testbed/networks.py create NAME CIDR [--internal]  check, then create idempotently
    testbed/networks.py remove NAME [NAME...]         remove networks this tool created
    testbed/networks.py reserved                      print what the guard protects
    testbed/networks.py egress NAME... [--json]       counted egress of each network; exit 1 if any,
                                                      2 if a guard is missing or not hooked
    testbed/networks.py mirror [--json]               the package mirror's host names and addresses

A CIDR is refused when it lies outside the ranges the project may use (198.18.0.0/15 and
198.51.100.0/24, extend with TESTBED_ALLOWED_RANGES="cidr,cidr"), or overlaps
- a route of this machine (``ip -j route``, ``ip -j -6 route``; default routes excluded),
- an address of this machine (the address's own prefix),
- a package mirror (hostnames in apt's sources resolved with getaddrinfo; the whole /24 or
  /64 around each address, since a network there breaks apt in every container),
- a name server of this machine (/etc/resolv.conf),
- the subnet of an existing docker network this tool did not create.
Networks created here carry the label ``org.selfhosted.testbed.network=1`` ("ours").

Egress guard: `create` also gives each of our networks an iptables chain ``HSLAB-<name>``
(a hash for long names), hooked from Docker's ``DOCKER-USER`` chain with ``-i <bridge>``,
so it sees every packet a container of that network sends to be forwarded by this machine.
In order: traffic staying on the bridge returns; traffic to the project ranges leaving
through a docker bridge returns; tcp 80/443 to the package mirror (apt's sources, resolved
now, IPv4) returns; traffic to the tailnet's range 100.64.0.0/10 is logged
(``HSLAB <name> tailnet: ``) and dropped, counted apart (see TAILNET_RANGE); everything
else is logged (``HSLAB <name>: `` prefix, 10/min) and dropped. The last DROP rule's
packet counter is the network's "counted egress" (`egress`).
`create` is idempotent (rules compared with ``iptables -S``; rebuilt when the bridge or
mirror changed; a missing guard is added to an existing network); `remove` deletes the
hook and the chain with the network, also when the network is already gone. Nothing else
on the machine is touched. IPv4 only: our networks have no IPv6.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import ipaddress
import json
import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass

OUR_LABEL = "org.selfhosted.testbed.network"
ALLOWED_RANGES = ("198.18.0.0/15", "198.51.100.0/24")
APT_SOURCES = ("/etc/apt/sources.list", "/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources")
MIRROR_PREFIX = {4: 24, 6: 64}
GUARD_PREFIX = "HSLAB-"
HOOK_CHAIN = "DOCKER-USER"
MIRROR_PORTS = "80,443"
LOG_LIMIT = "10/min"
# The tailnet's own range (headscale's IPv4 prefixes live in it; 100.100.100.100 is the
# tailscaled service address). Packets a container routes there are dropped like the rest but
# counted apart: they cannot reach anyone's home. tailscaled's TUN GRO probe (a TTL-0 packet
# 100.100.100.100 -> 100.100.100.100 written into the TUN at start) makes the container's
# kernel send an ICMP time-exceeded to 100.100.100.100 through its default route.
TAILNET_RANGE = "100.64.0.0/10"
IPTABLES = ("iptables", "-w")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Reserved:
    """A range the test bed must not use, and why."""

    network: Network
    reason: str


@dataclass(frozen=True)
class DockerNetwork:
    name: str
    id: str
    subnets: tuple[Network, ...]
    internal: bool
    ours: bool
    bridge: str


# ---------------------------------------------------------------- pure functions


def parse_cidr(text: str) -> Network:
    """A network from 'a.b.c.d/n'; host bits must be zero so typos are caught."""
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a network address in CIDR form ({exc})") from None


def overlaps(a: Network, b: Network) -> bool:
    """True when the two networks share at least one address (never across IP versions)."""
    return a.version == b.version and a.overlaps(b)


def conflicts(candidate: Network, reserved: Iterable[Reserved]) -> list[Reserved]:
    """The reserved ranges the candidate overlaps, in input order."""
    return [r for r in reserved if overlaps(candidate, r.network)]


def outside_allowed(candidate: Network, allowed: Iterable[Network]) -> bool:
    """True unless the candidate lies completely inside one of the allowed ranges."""
    return not any(candidate.version == a.version and candidate.subnet_of(a) for a in allowed)


def routes_from_ip_json(text: str, family: str, skip_devices: Iterable[str] = ()) -> list[Reserved]:
    """Reserved ranges from ``ip -j [-6] route``: every route but the default ones."""
    skip = set(skip_devices)
    out = []
    for route in json.loads(text or "[]"):
        dst = route.get("dst", "")
        if dst in ("default", "") or route.get("dev") in skip:
            continue
        try:
            net = ipaddress.ip_network(dst, strict=False)
        except ValueError:  # e.g. "multicast" or "unreachable" entries
            continue
        if net.prefixlen == 0:
            continue
        via = f" via {route['gateway']}" if route.get("gateway") else ""
        out.append(Reserved(net, f"{family} route {dst} dev {route.get('dev', '?')}{via}"))
    return out


def addresses_from_ip_json(text: str, skip_devices: Iterable[str] = ()) -> list[Reserved]:
    """Reserved ranges from ``ip -j addr``: each address with its prefix (link-local excluded)."""
    skip = set(skip_devices)
    out = []
    for link in json.loads(text or "[]"):
        if link.get("ifname") in skip:
            continue
        for info in link.get("addr_info", []):
            iface = ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}")
            if iface.ip.is_link_local:
                continue
            out.append(Reserved(iface.network, f"address {iface} on {link.get('ifname', '?')}"))
    return out


def hosts_from_apt_sources(text: str) -> list[str]:
    """Host names of the archives in an apt sources file (one-line or deb822 format)."""
    hosts = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        uris: list[str] = []
        if line.lower().startswith("uris:"):
            uris = line.split(":", 1)[1].split()
        elif re.match(r"deb(-src)?\s", line):
            rest = re.sub(r"^deb(-src)?\s+(\[[^\]]*\]\s+)?", "", line)
            uris = rest.split()[:1]
        for uri in uris:
            match = re.match(r"^[a-z0-9+]+://(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+)", uri)
            if match and match.group(1) not in hosts:
                hosts.append(match.group(1).strip("[]"))
    return hosts


def widen(address: str, prefix: dict[int, int] | None = None) -> Network:
    """The /24 (IPv4) or /64 (IPv6) holding an address."""
    prefix = prefix or MIRROR_PREFIX
    ip = ipaddress.ip_address(address)
    return ipaddress.ip_network(f"{ip}/{prefix[ip.version]}", strict=False)


def nameservers_from_resolv_conf(text: str) -> list[str]:
    return [
        parts[1]
        for parts in (line.split() for line in text.splitlines())
        if len(parts) > 1 and parts[0] == "nameserver"
    ]


def docker_networks_from_inspect(text: str) -> list[DockerNetwork]:
    """Networks from ``docker network inspect`` JSON."""
    out = []
    for net in json.loads(text or "[]"):
        subnets = []
        for cfg in (net.get("IPAM") or {}).get("Config") or []:
            if cfg.get("Subnet"):
                subnets.append(ipaddress.ip_network(cfg["Subnet"], strict=False))
        options = net.get("Options") or {}
        bridge = options.get("com.docker.network.bridge.name") or f"br-{net['Id'][:12]}"
        out.append(
            DockerNetwork(
                name=net["Name"],
                id=net["Id"],
                subnets=tuple(subnets),
                internal=bool(net.get("Internal")),
                ours=(net.get("Labels") or {}).get(OUR_LABEL) == "1",
                bridge=bridge,
            )
        )
    return out


def docker_reserved(networks: Iterable[DockerNetwork]) -> list[Reserved]:
    """Subnets of docker networks that are not ours."""
    return [
        Reserved(subnet, f"docker network {n.name!r} ({subnet})")
        for n in networks
        if not n.ours
        for subnet in n.subnets
    ]


def plan_create(name: str, subnet: Network, internal: bool, existing: Iterable[DockerNetwork]) -> tuple[str, str]:
    """What `create` must do: ("exists"|"create"|"error", message)."""
    existing = list(existing)
    for net in existing:
        if net.name != name:
            continue
        if net.subnets == (subnet,) and net.internal == internal:
            return "exists", f"network {name} {subnet}{' internal' if internal else ''} exists"
        have = ", ".join(str(s) for s in net.subnets) or "no subnet"
        return "error", (
            f"network {name} exists with {have}{' internal' if net.internal else ''}, "
            f"not {subnet}{' internal' if internal else ''}; remove it first (docker network rm {name})"
        )
    for net in existing:
        for other in net.subnets:
            if overlaps(subnet, other):
                return "error", f"{subnet} overlaps docker network {net.name!r} ({other}); use another subnet"
    return "create", f"network {name} {subnet}{' internal' if internal else ''} created"


# ---------------------------------------------------------------- egress guard (pure)


def guard_chain(name: str) -> str:
    """The guard chain of a network: HSLAB-<name>, or HSLAB-<hash> when the name is too long."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,21}", name):
        return GUARD_PREFIX + name
    return GUARD_PREFIX + hashlib.sha256(name.encode()).hexdigest()[:12]


def log_prefix(name: str) -> str:
    """The LOG prefix of counted egress (the kernel allows 29 characters)."""
    return f"HSLAB {name[:20]}: "


def tailnet_log_prefix(name: str) -> str:
    """The LOG prefix of packets to the tailnet's range."""
    return f"HSLAB {name[:12]} tailnet: "


def guard_rules(name: str, bridge: str, mirrors: Iterable[str], allowed: Iterable[Network]) -> list[str]:
    """The guard chain's rules exactly as ``iptables -S <chain>`` prints them."""
    chain = guard_chain(name)
    rules = [f"-A {chain} -o {bridge} -j RETURN"]
    rules += [f"-A {chain} -d {net} -o br-+ -j RETURN" for net in allowed if net.version == 4]
    rules += [
        f"-A {chain} -d {address}/32 -p tcp -m multiport --dports {MIRROR_PORTS} -j RETURN" for address in mirrors
    ]
    tailnet = f"-A {chain} -d {TAILNET_RANGE}"
    rules.append(f'{tailnet} -m limit --limit {LOG_LIMIT} -j LOG --log-prefix "{tailnet_log_prefix(name)}"')
    rules.append(f"{tailnet} -j DROP")
    rules.append(f'-A {chain} -m limit --limit {LOG_LIMIT} -j LOG --log-prefix "{log_prefix(name)}"')
    rules.append(f"-A {chain} -j DROP")
    return rules


def hook_rule(name: str, bridge: str) -> str:
    return f"-A {HOOK_CHAIN} -i {bridge} -j {guard_chain(name)}"


def rules_of(text: str, chain: str) -> list[str]:
    """The ``-A <chain> ...`` lines of ``iptables -S`` output (warnings and -N/-P skipped)."""
    return [line.strip() for line in text.splitlines() if line.startswith(f"-A {chain} ")]


def jumps_to(rule: str, chain: str) -> bool:
    words = shlex.split(rule)
    return any(words[i] in ("-j", "-g") and words[i + 1] == chain for i in range(len(words) - 1))


def plan_guard(name: str, bridge: str, desired: list[str], chain_text: str | None, hook_text: str) -> list[list[str]]:
    """iptables arguments that turn the current state into the desired guard ([] when it is).

    chain_text: ``iptables -S <chain>`` (None when the chain does not exist);
    hook_text: ``iptables -S DOCKER-USER``.
    """
    chain = guard_chain(name)
    actions: list[list[str]] = []
    if chain_text is None:
        actions.append(["-N", chain])
    current = rules_of(chain_text or "", chain)
    if current != desired:
        if current:
            actions.append(["-F", chain])
        actions += [shlex.split(rule) for rule in desired]
    hook = hook_rule(name, bridge)
    if not hook_in_place(name, bridge, hook_text):
        actions += [["-D", *shlex.split(rule)[1:]] for rule in rules_of(hook_text, HOOK_CHAIN) if jumps_to(rule, chain)]
        actions.append(["-I", HOOK_CHAIN, "1", *shlex.split(hook)[2:]])
    return actions


def hook_in_place(name: str, bridge: str | None, hook_text: str) -> bool:
    """The network's packets reach its guard: DOCKER-USER (``iptables -S``) jumps to the chain
    exactly once, for the network's bridge, before any unconditional RETURN."""
    if not bridge:
        return False
    hook = hook_rule(name, bridge)
    hooks = rules_of(hook_text, HOOK_CHAIN)
    ours = [rule for rule in hooks if jumps_to(rule, guard_chain(name))]
    unconditional = [i for i, rule in enumerate(hooks) if rule == f"-A {HOOK_CHAIN} -j RETURN"]
    return ours == [hook] and (not unconditional or hooks.index(hook) < unconditional[0])


def plan_unguard(name: str, chain_text: str | None, hook_text: str) -> list[list[str]]:
    """iptables arguments that remove a network's guard: its hooks, then the chain."""
    chain = guard_chain(name)
    actions = [["-D", *shlex.split(rule)[1:]] for rule in rules_of(hook_text, HOOK_CHAIN) if jumps_to(rule, chain)]
    if chain_text is not None:
        actions += [["-F", chain], ["-X", chain]]
    return actions


def parse_counters(text: str) -> list[dict]:
    """Rows of ``iptables -L <chain> -v -x -n``: packets, bytes, target, prot, in, out, source,
    destination and the match text after them."""
    rows = []
    for line in text.splitlines():
        words = line.split(None, 9)
        if len(words) < 9 or not words[0].isdigit():
            continue
        rows.append(
            {
                "packets": int(words[0]),
                "bytes": int(words[1]),
                "target": words[2],
                "prot": words[3],
                "in": words[5],
                "out": words[6],
                "source": words[7],
                "destination": words[8],
                "match": words[9].strip() if len(words) > 9 else "",
            }
        )
    return rows


def guard_bridge(chain_text: str, chain: str) -> str | None:
    """The bridge a guard chain was made for (its first rule, ``-o <bridge> -j RETURN``)."""
    for rule in rules_of(chain_text, chain):
        words = rule.split()
        if words[2:3] == ["-o"] and words[4:] == ["-j", "RETURN"]:
            return words[3]
    return None


def summarize_guard(name: str, bridge: str | None, rows: list[dict], hook_rows: list[dict]) -> dict:
    """Counted egress (the last DROP rule), packets to the tailnet's range (dropped, counted
    apart), packets to the mirror, and packets the guard saw."""
    chain = guard_chain(name)

    def total(key: str, target: str, destination: str) -> int:
        return sum(r[key] for r in rows if r["target"] == target and r["destination"] == destination)

    return {
        "name": name,
        "chain": chain,
        "bridge": bridge,
        "dropped_packets": total("packets", "DROP", "0.0.0.0/0"),
        "dropped_bytes": total("bytes", "DROP", "0.0.0.0/0"),
        "tailnet_packets": total("packets", "DROP", TAILNET_RANGE),
        "mirror_packets": sum(r["packets"] for r in rows if r["target"] == "RETURN" and MIRROR_PORTS in r["match"]),
        "logged_packets": total("packets", "LOG", "0.0.0.0/0"),
        "tailnet_logged_packets": total("packets", "LOG", TAILNET_RANGE),
        "checked_packets": sum(r["packets"] for r in hook_rows if r["target"] == chain),
    }


def dropped_from_kernel_log(text: str, prefix: str, bridge: str | None) -> list[str]:
    """'SRC -> DST PROTO dport N' (ICMP: 'type N') for each kernel log line with this LOG
    prefix (and bridge). The packet an ICMP error quotes, in brackets, is left out."""
    out = []
    for line in text.splitlines():
        if prefix not in line or (bridge and f"IN={bridge} " not in line):
            continue
        fields = dict(re.findall(r"\b(SRC|DST|PROTO|DPT|TYPE)=(\S+)", line.split(" [", 1)[0]))
        detail = f" dport {fields['DPT']}" if "DPT" in fields else ""
        detail = f" type {fields['TYPE']}" if fields.get("PROTO") == "ICMP" and "TYPE" in fields else detail
        out.append(f"{fields.get('SRC', '?')} -> {fields.get('DST', '?')} {fields.get('PROTO', '?')}{detail}")
    return out


# ---------------------------------------------------------------- this machine


def _run(argv: list[str]) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def docker_networks() -> list[DockerNetwork]:
    try:
        ids = _run(["docker", "network", "ls", "-q", "--no-trunc"]).split()
        return docker_networks_from_inspect(_run(["docker", "network", "inspect", *ids])) if ids else []
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"networks.py: cannot list docker networks: {exc}") from None


def mirrors() -> list[tuple[str, str, str]]:
    """(host, address, sources file) of each package mirror apt uses here, resolved now."""
    out = []
    for pattern in APT_SOURCES:
        for path in sorted(glob.glob(pattern)):
            with open(path, encoding="utf-8", errors="replace") as handle:
                hosts = hosts_from_apt_sources(handle.read())
            for host in hosts:
                try:
                    infos = socket.getaddrinfo(host, None)
                except socket.gaierror:
                    continue
                out += [(host, address, path) for address in sorted({info[4][0] for info in infos})]
    return out


def mirror_reserved() -> list[Reserved]:
    return [
        Reserved(widen(address), f"package mirror {host} ({address}, from {path})") for host, address, path in mirrors()
    ]


def iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([*IPTABLES, *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise SystemExit(f"networks.py: iptables {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def chain_text(chain: str) -> str | None:
    """``iptables -S <chain>``, or None when the chain does not exist."""
    result = iptables("-S", chain, check=False)
    return result.stdout if result.returncode == 0 else None


def ensure_guard(net: DockerNetwork) -> str:
    chain = guard_chain(net.name)
    addresses = sorted({address for _host, address, _path in mirrors() if ipaddress.ip_address(address).version == 4})
    desired = guard_rules(net.name, net.bridge, addresses, allowed_ranges())
    current = chain_text(chain)
    actions = plan_guard(net.name, net.bridge, desired, current, chain_text(HOOK_CHAIN) or "")
    for action in actions:
        iptables(*action)
    state = "up to date" if not actions else ("created" if current is None else "updated")
    return f"egress guard {chain} on {net.bridge} {state} (mirror: {', '.join(addresses) or 'none'})"


def remove_guard(name: str) -> str | None:
    chain = guard_chain(name)
    current = chain_text(chain)
    actions = plan_unguard(name, current, chain_text(HOOK_CHAIN) or "")
    for action in actions:
        iptables(*action)
    return f"egress guard {chain} removed" if actions else None


def machine_reserved(networks: list[DockerNetwork]) -> list[Reserved]:
    """Everything this machine uses; our own docker bridges are left to the docker check."""
    ours = [n.bridge for n in networks if n.ours]
    reserved = routes_from_ip_json(_run(["ip", "-j", "route"]), "IPv4", ours)
    reserved += routes_from_ip_json(_run(["ip", "-j", "-6", "route"]), "IPv6", ours)
    reserved += addresses_from_ip_json(_run(["ip", "-j", "addr"]), ours)
    reserved += mirror_reserved()
    try:
        with open("/etc/resolv.conf", encoding="utf-8") as handle:
            for server in nameservers_from_resolv_conf(handle.read()):
                ip = ipaddress.ip_address(server.split("%")[0])
                reserved.append(Reserved(ipaddress.ip_network(ip), f"name server {server}"))
    except OSError:
        pass
    reserved += docker_reserved(networks)
    return reserved


def allowed_ranges() -> list[Network]:
    extra = [c for c in os.environ.get("TESTBED_ALLOWED_RANGES", "").split(",") if c.strip()]
    return [parse_cidr(c) for c in (*ALLOWED_RANGES, *extra)]


def problems(candidate: Network, reserved: list[Reserved], allowed: list[Network]) -> list[str]:
    out = []
    if outside_allowed(candidate, allowed):
        out.append(f"{candidate} is outside the test ranges ({', '.join(str(a) for a in allowed)})")
    out += [f"{candidate} overlaps {r.reason}" for r in conflicts(candidate, reserved)]
    return out


# ---------------------------------------------------------------- commands


def cmd_check(cidrs: list[str]) -> int:
    networks = docker_networks()
    reserved = machine_reserved(networks)
    allowed = allowed_ranges()
    status = 0
    for text in cidrs:
        try:
            candidate = parse_cidr(text)
        except ValueError as exc:
            print(f"networks.py: {exc}", file=sys.stderr)
            status = 1
            continue
        found = problems(candidate, reserved, allowed)
        for problem in found:
            print(f"networks.py: refused: {problem}", file=sys.stderr)
        if found:
            status = 1
        else:
            print(f"networks.py: {candidate} ok")
    return status


def cmd_create(name: str, cidr: str, internal: bool) -> int:
    try:
        subnet = parse_cidr(cidr)
    except ValueError as exc:
        print(f"networks.py: {exc}", file=sys.stderr)
        return 1
    networks = docker_networks()
    found = problems(subnet, machine_reserved(networks), allowed_ranges())
    if found:
        for problem in found:
            print(f"networks.py: refused: {problem}", file=sys.stderr)
        return 1
    action, message = plan_create(name, subnet, internal, networks)
    if action == "error":
        print(f"networks.py: {message}", file=sys.stderr)
        return 1
    if action == "create":
        argv = ["docker", "network", "create", "--driver", "bridge", "--subnet", str(subnet)]
        argv += ["--label", f"{OUR_LABEL}=1"]
        if subnet.version == 6:
            argv.append("--ipv6")
        if internal:
            argv.append("--internal")
        result = subprocess.run([*argv, name], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(f"networks.py: docker network create {name} failed: {result.stderr.strip()}", file=sys.stderr)
            return 1
    print(f"networks.py: {message}")
    created = [n for n in docker_networks() if n.name == name]
    if not created:
        print(f"networks.py: network {name} vanished after creation", file=sys.stderr)
        return 1
    print(f"networks.py: {ensure_guard(created[0])}")
    return 0


def cmd_remove(names: list[str]) -> int:
    by_name = {n.name: n for n in docker_networks()}
    status = 0
    for name in names:
        net = by_name.get(name)
        if net is None:
            print(f"networks.py: network {name} absent")
        elif not net.ours:
            print(f"networks.py: network {name} was not created by the test bed; left alone", file=sys.stderr)
            status = 1
            continue
        else:
            result = subprocess.run(["docker", "network", "rm", name], capture_output=True, text=True, check=False)
            if result.returncode != 0:
                print(f"networks.py: docker network rm {name} failed: {result.stderr.strip()}", file=sys.stderr)
                status = 1
                continue  # the guard stays while the network does
            print(f"networks.py: network {name} removed")
        message = remove_guard(name)
        if message:
            print(f"networks.py: {message}")
    return status


def kernel_log() -> str:
    result = subprocess.run(["dmesg"], capture_output=True, text=True, check=False)
    return result.stdout if result.returncode == 0 else ""


def cmd_egress(names: list[str], as_json: bool) -> int:
    hook_rows = parse_counters(iptables("-L", HOOK_CHAIN, "-v", "-x", "-n").stdout)
    hook_text = chain_text(HOOK_CHAIN) or ""
    klog = kernel_log()
    found, missing, unhooked = [], [], []
    for name in names:
        chain = guard_chain(name)
        text = chain_text(chain)
        if text is None:
            missing.append(name)
            continue
        bridge = guard_bridge(text, chain)
        summary = summarize_guard(
            name, bridge, parse_counters(iptables("-L", chain, "-v", "-x", "-n").stdout), hook_rows
        )
        summary["hooked"] = hook_in_place(name, bridge, hook_text)
        if not summary["hooked"]:
            unhooked.append(name)
        # the LOG rules' counters say how many of the last kernel log lines are this chain's
        for key, prefix in (("logged", log_prefix(name)), ("tailnet_logged", tailnet_log_prefix(name))):
            count = summary[f"{key}_packets"]
            summary[key] = dropped_from_kernel_log(klog, prefix, bridge)[-count:] if count else []
        found.append(summary)
    total = sum(s["dropped_packets"] for s in found)
    if as_json:
        print(json.dumps({"networks": found, "unguarded": missing + unhooked, "dropped_packets": total}, indent=1))
    else:
        for s in found:
            print(
                f"networks.py: {s['name']}: {s['dropped_packets']} packets ({s['dropped_bytes']} bytes) "
                f"counted as egress; {s['tailnet_packets']} to the tailnet range (dropped, not counted), "
                f"{s['mirror_packets']} to the mirror, {s['checked_packets']} seen by {s['chain']} on {s['bridge']}"
            )
            for line in s["logged"]:
                print(f"networks.py: {s['name']}: dropped {line}")
            for line in s["tailnet_logged"]:
                print(f"networks.py: {s['name']}: dropped (tailnet range) {line}")
    for name in missing:
        print(f"networks.py: {name}: no egress guard ({guard_chain(name)} does not exist)", file=sys.stderr)
    for name in unhooked:
        print(
            f"networks.py: {name}: egress guard not hooked ({HOOK_CHAIN} does not send the network's packets to "
            f"{guard_chain(name)} first; `networks.py create` puts the hook back)",
            file=sys.stderr,
        )
    if missing or unhooked:
        return 2
    return 1 if total else 0


def cmd_mirror(as_json: bool) -> int:
    found = mirrors()
    if as_json:
        print(json.dumps([{"host": h, "address": a, "source": p} for h, a, p in found], indent=1))
    else:
        for host, address, path in found:
            print(f"{host} {address} {path}")
    return 0


def cmd_reserved() -> int:
    for r in machine_reserved(docker_networks()):
        print(f"{r.network!s:<24} {r.reason}")
    print("allowed: " + ", ".join(str(a) for a in allowed_ranges()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="networks.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_check = sub.add_parser("check", help="refuse CIDRs that overlap this machine's ranges")
    p_check.add_argument("cidrs", nargs="+", metavar="CIDR")
    p_create = sub.add_parser("create", help="check, then create a docker network (idempotent)")
    p_create.add_argument("name")
    p_create.add_argument("cidr")
    p_create.add_argument("--internal", action="store_true")
    p_remove = sub.add_parser("remove", help="remove docker networks created by this tool")
    p_remove.add_argument("names", nargs="+", metavar="NAME")
    sub.add_parser("reserved", help="list the protected ranges")
    p_egress = sub.add_parser("egress", help="counted egress of networks' guards (exit 1 if any)")
    p_egress.add_argument("names", nargs="+", metavar="NAME")
    p_egress.add_argument("--json", action="store_true")
    p_mirror = sub.add_parser("mirror", help="the package mirror's host names and addresses (apt's sources)")
    p_mirror.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "check":
        return cmd_check(args.cidrs)
    if args.command == "create":
        return cmd_create(args.name, args.cidr, args.internal)
    if args.command == "remove":
        return cmd_remove(args.names)
    if args.command == "egress":
        return cmd_egress(args.names, args.json)
    if args.command == "mirror":
        return cmd_mirror(args.json)
    return cmd_reserved()


if __name__ == "__main__":
    sys.exit(main())
