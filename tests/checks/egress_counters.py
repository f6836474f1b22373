#!/usr/bin/env python
"""Read the packet counters of an egress-guard chain from ``iptables -L CHAIN -v -x -n``.

The integration harness (tests/integration/harness/egress.py) drops and counts every packet
its programs send off the machine; the count is the ``pkts`` column of the chain's ``DROP``
rules. This module only parses text (standard library, Python 3.8+), so it is unit-tested on
recorded real output (tests/fixtures/iptables/) and can be used on a container host too.

Library use::

    from tests.checks.egress_counters import dropped_packets
    count = dropped_packets(subprocess.run(["iptables", "-L", chain, "-v", "-x", "-n"], ...).stdout)

Command line::

    iptables -L CHAIN -v -x -n | python3 tests/checks/egress_counters.py -

prints the dropped-packet count; exit 0 when it is zero, 1 when packets were dropped, 2 when
the text is not such a listing. Text that is not a chain listing raises ``ValueError``: an
unreadable counter must never read as zero.
"""

from __future__ import annotations

import sys

# Values of the "prot" column: a rule without a target shows the protocol third.
_PROTOCOLS = {"all", "tcp", "udp", "udplite", "icmp", "icmpv6", "ipv6-icmp", "esp", "ah", "sctp", "mh"}


def parse_chain(listing: str) -> dict:
    """``{"chain": name, "rules": [{"pkts", "bytes", "target", "text"}, ...]}`` of one chain.

    Raises ValueError when ``listing`` is not the output of ``iptables -L CHAIN -v -x -n``
    (or ip6tables) for exactly one chain.
    """
    lines = [line for line in listing.splitlines() if line.strip() and not line.startswith("#")]
    if not lines or not lines[0].startswith("Chain "):
        raise ValueError("not an iptables chain listing (no 'Chain NAME' line): %r" % listing[:200])
    chain = lines[0].split()[1]
    if len(lines) < 2 or lines[1].split()[:3] != ["pkts", "bytes", "target"]:
        raise ValueError("chain %s: no 'pkts bytes target' header (was -v given?): %r" % (chain, listing[:200]))
    rules = []
    for line in lines[2:]:
        if line.startswith("Chain "):
            raise ValueError("more than one chain in the listing (%s and %s)" % (chain, line.split()[1]))
        fields = line.split()
        try:
            pkts, nbytes = int(fields[0]), int(fields[1])
        except (IndexError, ValueError):
            raise ValueError("chain %s: cannot read the counters of %r (was -x given?)" % (chain, line)) from None
        third = fields[2] if len(fields) > 2 else ""
        target = "" if (third.isdigit() or third.lower() in _PROTOCOLS) else third
        rules.append({"pkts": pkts, "bytes": nbytes, "target": target, "text": line.strip()})
    return {"chain": chain, "rules": rules}


def dropped_packets(listing: str) -> int:
    """Packets counted by the ``DROP`` rules of the listed chain."""
    return sum(rule["pkts"] for rule in parse_chain(listing)["rules"] if rule["target"] == "DROP")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: egress_counters.py FILE|-  (the output of iptables -L CHAIN -v -x -n)", file=sys.stderr)
        return 2
    try:
        if args[0] == "-":
            text = sys.stdin.read()
        else:
            with open(args[0], encoding="utf-8") as handle:
                text = handle.read()
        count = dropped_packets(text)
    except (OSError, ValueError) as exc:
        print("egress_counters: %s" % exc, file=sys.stderr)
        return 2
    print(count)
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main())
