#!/usr/bin/env python
"""Overlap guard for the test bed's docker networks (python3 standard library only).

    testbed/networks.py check CIDR [CIDR...]         exit 1 when a CIDR is not safe to use
    testbed/networks.py create NAME CIDR [--internal]  check, then create idempotently
    testbed/networks.py remove NAME [NAME...]         remove networks this tool created
    testbed/networks.py reserved                      print what the guard protects

A CIDR is refused when it lies outside the ranges the project may use (198.18.0.0/15 and
198.51.100.0/24, extend with TESTBED_ALLOWED_RANGES="cidr,cidr"), or overlaps
- a route of this machine (``ip -j route``, ``ip -j -6 route``; default routes excluded),
- an address of this machine (the address's own prefix),
- a package mirror (hostnames in apt's sources resolved with getaddrinfo; the whole /24 or
  /64 around each address, since a network there breaks apt in every container),
- a name server of this machine (/etc/resolv.conf),
- the subnet of an existing docker network this tool did not create.
Networks created here carry the label ``org.selfhosted.testbed.network=1`` ("ours").
"""

from __future__ import annotations

import argparse
import glob
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass

OUR_LABEL = "org.selfhosted.testbed.network"
ALLOWED_RANGES = ("198.18.0.0/15", "198.51.100.0/24")
APT_SOURCES = ("/etc/apt/sources.list", "/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources")
MIRROR_PREFIX = {4: 24, 6: 64}

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


# ---------------------------------------------------------------- this machine


def _run(argv: list[str]) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def docker_networks() -> list[DockerNetwork]:
    try:
        ids = _run(["docker", "network", "ls", "-q", "--no-trunc"]).split()
        return docker_networks_from_inspect(_run(["docker", "network", "inspect", *ids])) if ids else []
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"networks.py: cannot list docker networks: {exc}") from None


def mirror_reserved() -> list[Reserved]:
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
                for address in sorted({info[4][0] for info in infos}):
                    out.append(Reserved(widen(address), f"package mirror {host} ({address}, from {path})"))
    return out


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
        else:
            result = subprocess.run(["docker", "network", "rm", name], capture_output=True, text=True, check=False)
            if result.returncode != 0:
                print(f"networks.py: docker network rm {name} failed: {result.stderr.strip()}", file=sys.stderr)
                status = 1
            else:
                print(f"networks.py: network {name} removed")
    return status


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
    args = parser.parse_args(argv)
    if args.command == "check":
        return cmd_check(args.cidrs)
    if args.command == "create":
        return cmd_create(args.name, args.cidr, args.internal)
    if args.command == "remove":
        return cmd_remove(args.names)
    return cmd_reserved()


if __name__ == "__main__":
    sys.exit(main())
