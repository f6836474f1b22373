#!/usr/bin/env python
"""The one shared "nothing calls home" check.

Our test beds run headscale and tailscaled with every phone-home switched off
(``--no-logs-no-support``, ``disable_check_updates: true``, ``derp.urls: []``). This check
reads their logs and reports every line in which a program tried to reach a host outside
the lab: any ``*.tailscale.com`` host (log.tailscale.com, controlplane.tailscale.com,
derpN.tailscale.com, pkgs.tailscale.com, ...), ``tailscale.io``, ``github.com`` and
``api.github.com``.

A host counts as *contacted* when it appears the way programs write the address they use:
in a URL (``https://log.tailscale.com/c/...``), as ``host:port``, after ``lookup``/``dial``,
or as a bare host name (``DNS lookup of derp1.tailscale.com failed``). It does not count
when the name is the first segment of a Go package path, which both programs print in
caller fields and stack traces (``github.com/juanfont/headscale@v0.29.3/hscontrol/...``,
``tailscale.com/ipn/ipnlocal``).

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
import re
import sys

# Host names (or host-name suffixes) that must never be contacted from the lab.
FORBIDDEN_HOSTS = (
    "tailscale.com",  # and every subdomain: log., controlplane., derpN., pkgs., login. ...
    "tailscale.io",
    "github.com",  # and api.github.com, objects.githubusercontent.com is not expected
    "githubusercontent.com",
)

_HOST_CHARS = r"[A-Za-z0-9-]"
# A host name ending in one of the forbidden suffixes, e.g. "log.tailscale.com".
_HOST_RE = re.compile(
    r"(?<![A-Za-z0-9.-])"  # start of a host name
    r"((?:" + _HOST_CHARS + r"+\.)*(?:" + "|".join(re.escape(h) for h in FORBIDDEN_HOSTS) + r"))"
    r"(?![A-Za-z0-9-])"  # not a longer label, e.g. "github.community"
    r"(\.?)"  # a trailing dot (FQDN or end of sentence)
    r"(.?)",  # what follows the name
)

# Apex names that are also Go module paths; they count only in a URL or as host:port,
# never when followed by "/" (a package path) or "@" (a module version).
_MODULE_PATH_APEXES = {"tailscale.com", "github.com"}


def _is_contact(line: str, match: re.Match[str]) -> bool:
    host = match.group(1).lower()
    trailing_dot, following = match.group(2), match.group(3)
    before = line[: match.start(1)]
    in_url = bool(re.search(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^/\s@]*@)?$", before))
    if in_url:
        return True
    if following == "/" and not trailing_dot:
        # "github.com/juanfont/headscale/...": a Go package path, not an address.
        return False
    if following == "@" and not trailing_dot:
        # "tailscale.com@v1.102.3": a module version.
        return False
    if host in _MODULE_PATH_APEXES and following not in (":",) and not trailing_dot:
        # The bare apex "tailscale.com" / "github.com" without a scheme or a port is how
        # Go prints module names (e.g. in version banners); subdomains are real hosts.
        # Only an explicit lookup/dial makes it an address.
        return bool(re.search(r"\b(lookup|dial(?:ing)?|resolv\w*|connect\w*|GET|POST|fetch\w*)\s+$", before))
    return True


def find_calls_home(text: str) -> list[str]:
    """Return the lines of ``text`` that show an attempt to reach a forbidden host."""
    offending = []
    for line in text.splitlines():
        if any(_is_contact(line, m) for m in _HOST_RE.finditer(line)):
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
