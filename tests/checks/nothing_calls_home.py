#!/usr/bin/env python
"""The one shared "nothing calls home" check.

Our test beds run headscale and tailscaled with every phone-home switched off
(``--no-logs-no-support``, ``disable_check_updates: true``, ``derp.urls: []``). This check
reads their logs and reports every line in which a program tried to reach a host outside
the lab: any ``*.tailscale.com`` host (log.tailscale.com, controlplane.tailscale.com,
derpN.tailscale.com, pkgs.tailscale.com, ...), ``tailscale.io``, ``github.com`` and
``api.github.com``, ``githubusercontent.com``, ``ghcr.io`` -- in any letter case -- and any
public IP address a program dialled.

A host counts as *contacted* when it appears the way programs write the address they use:
in a URL (``https://log.tailscale.com/c/...``), as ``host:port``, as ``host/path`` without a
scheme (``derp1.tailscale.com/derp``), after ``lookup``/``dial``, or as a bare host name
(``DNS lookup of derp1.tailscale.com failed``). It does not count when the apex name
``github.com`` or ``tailscale.com`` is the first segment of a Go package path, which both
programs print in caller fields and stack traces (``github.com/juanfont/headscale@v0.29.3/...``,
``tailscale.com/ipn/ipnlocal``).

An IP address counts when it is public -- not loopback, link-local, private, documentation,
multicast, nor one of the lab's ranges (198.18.0.0/15, 198.51.100.0/24, 100.64.0.0/10,
fd7a:115c:a1e0::/48) -- and written as an address in use: with a port (``dial tcp
8.8.8.8:443``, ``[2606:4700::1111]:443``), in a URL, or after dial/connect/to/an arrow
(``-> 1.2.3.4:41641``).

A log shows failures more than successes (a silent update check, a log upload that
worked); the wire-level guard of the integration harness (tests/integration/harness/egress.py)
and of the molecule networks is the other half of the proof.

Library use::

    from tests.checks.nothing_calls_home import find_calls_home
    assert find_calls_home(log_text) == []

Command line (used by the molecule verify steps; keep it stable)::

    python3 tests/checks/nothing_calls_home.py [--label NAME] FILE... (or - for stdin)

Exit status: 0 when no line calls home, 1 with the offending lines on stdout (prefixed by
the label, or the file name), 2 on usage or read errors.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import sys

# Host names (or host-name suffixes) that must never be contacted from the lab.
FORBIDDEN_HOSTS = (
    "tailscale.com",  # and every subdomain: log., controlplane., derpN., pkgs., login. ...
    "tailscale.io",
    "github.com",  # and api.github.com
    "githubusercontent.com",  # objects./raw.githubusercontent.com (release downloads)
    "ghcr.io",  # GitHub's container registry
)

# Addresses the lab may use: its own ranges (containers, tailnet prefixes, the tests' routed
# range). Loopback, link-local, private and documentation addresses are not public either.
LAB_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "198.18.0.0/15",
    "198.51.100.0/24",
    "100.64.0.0/10",
    "fd7a:115c:a1e0::/48",
))

_HOST_CHARS = r"[A-Za-z0-9-]"
# A host name ending in one of the forbidden suffixes, e.g. "log.tailscale.com" (any case).
_HOST_RE = re.compile(
    r"(?<![A-Za-z0-9.-])"  # start of a host name
    r"((?:" + _HOST_CHARS + r"+\.)*(?:" + "|".join(re.escape(h) for h in FORBIDDEN_HOSTS) + r"))"
    r"(?![A-Za-z0-9-])"  # not a longer label, e.g. "github.community"
    r"(\.?)"  # a trailing dot (FQDN or end of sentence)
    r"(.?)",  # what follows the name
    re.IGNORECASE,
)

# Apex names that are also Go module paths; they count only in a URL or as host:port,
# never when followed by "/" (a package path) or "@" (a module version). Subdomains
# (pkgs.tailscale.com/..., derp1.tailscale.com/derp) are hosts even without a scheme.
_MODULE_PATH_APEXES = {"tailscale.com", "github.com"}

# Words after which an address is the one a program uses.
_VERB_BEFORE = r"(?:lookup|dial(?:ing|ed)?|resolv\w*|connect\w*|GET|POST|fetch\w*|to|via)"
_VERB_RE = re.compile(r"\b" + _VERB_BEFORE + r"\s+(?:(?:tcp|udp)[46]?\s+)?\"?$|(?:->|\u2192)\s*\"?$", re.IGNORECASE)
_URL_BEFORE_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^/\s@]*@)?$")

# IP address candidates: dotted quads, and IPv6 in brackets or after a verb.
_IPV4_RE = re.compile(r"(?<![\w.:])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.]|:[A-Za-z])(:\d{1,5}\b)?")
_IPV6_BRACKET_RE = re.compile(r"\[([0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)(?:%[\w.-]+)?\](:\d{1,5}\b)?")
_IPV6_BARE_RE = re.compile(r"(?<![\w:.])([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(?![\w:.])")


def is_public_address(text: str) -> bool:
    """True for an IP address outside loopback, link-local, private/documentation space and
    the lab's own ranges (multicast and broadcast do not reach a home server either)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return False
    if any(address in net for net in LAB_NETWORKS if net.version == address.version):
        return False
    return address.is_global


def _is_contact(line: str, match: re.Match[str]) -> bool:
    host = match.group(1).lower()
    trailing_dot, following = match.group(2), match.group(3)
    before = line[: match.start(1)]
    if _URL_BEFORE_RE.search(before):
        return True
    if host in _MODULE_PATH_APEXES and following in ("/", "@") and not trailing_dot:
        # "github.com/juanfont/headscale/...": a Go package path; "tailscale.com@v1.102.3":
        # a module version. Not addresses.
        return False
    if host in _MODULE_PATH_APEXES and following != ":" and not trailing_dot:
        # The bare apex "tailscale.com" / "github.com" without a scheme or a port is how
        # Go prints module names (e.g. in version banners); subdomains are real hosts.
        # Only an explicit lookup/dial makes it an address.
        return bool(re.search(r"\b(lookup|dial(?:ing)?|resolv\w*|connect\w*|GET|POST|fetch\w*)\s+$", before,
                              re.IGNORECASE))
    return True


def _dialled_addresses(line: str) -> list[str]:
    """Public IP addresses ``line`` shows a program using: with a port (``8.8.8.8:443``,
    ``[2606:4700::1111]:443``), in a URL, or after dial/connect/to/an arrow."""
    found = []
    for regex, port_group in ((_IPV4_RE, 2), (_IPV6_BRACKET_RE, 2), (_IPV6_BARE_RE, None)):
        for match in regex.finditer(line):
            address = match.group(1)
            if not is_public_address(address):
                continue
            before = line[: match.start()]
            with_port = port_group is not None and match.group(port_group) is not None
            if with_port or _URL_BEFORE_RE.search(before) or _VERB_RE.search(before):
                found.append(address)
    return found


def find_calls_home(text: str) -> list[str]:
    """Return the lines of ``text`` that show an attempt to reach a forbidden host or a
    public IP address."""
    offending = []
    for line in text.splitlines():
        if any(_is_contact(line, m) for m in _HOST_RE.finditer(line)) or _dialled_addresses(line):
            offending.append(line)
    return offending


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Fail (exit 1) when a log shows an attempt to reach tailscale.com, tailscale.io or github.com.",
    )
    parser.add_argument("--label", help="name printed before offending lines (default: the file name)")
    parser.add_argument("files", nargs="+", metavar="FILE", help="log file to check, or - for stdin")
    args = parser.parse_args(argv)

    found = 0
    for name in args.files:
        try:
            if name == "-":
                text = sys.stdin.read()
            else:
                with open(name, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
        except OSError as exc:
            print(f"nothing_calls_home: cannot read {name}: {exc}", file=sys.stderr)
            return 2
        label = args.label or ("stdin" if name == "-" else name)
        for line in find_calls_home(text):
            found += 1
            print(f"{label}: {line}")
    if found:
        print(f"nothing_calls_home: {found} line(s) show an attempt to reach the internet", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
