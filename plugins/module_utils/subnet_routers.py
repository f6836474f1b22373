# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which nodes serve each subnet route, and which of them is primary, from headscale's node list
(normalised, see normalize.node). From headscale 0.26 a node's ``subnet_routes`` are the routes it
currently serves as primary, plus its approved exit routes (nodesToProto in hscontrol/grpcv1.go at
v0.26.1); a route is served by a node that advertises it (``available_routes``) and has it approved.

Used by playbooks/verify.yml (who is primary) and playbooks/failover_drill.yml (the drill's plan).
"""

from __future__ import annotations

import ipaddress


def _is_exit(route):
    return ipaddress.ip_network(route, strict=False).prefixlen == 0


def _label(node, hosts_by_id):
    host = hosts_by_id.get(str(node["id"]))
    return host or "%s (node %s)" % (node.get("given_name") or node["name"], node["id"])


def routers(nodes, hosts_by_id=None):
    """{route: [router, ...]} for every subnet route (exit routes left out) that a node advertises
    with approval. A router is {id, label, host, online, primary}; ``host`` is the inventory name
    from ``hosts_by_id`` ({node ID as text: inventory host}) or '' when the node is not in it.
    Routers are listed in node ID order; routes in address order."""
    hosts_by_id = {str(k): v for k, v in (hosts_by_id or {}).items()}
    served = {}
    for node in sorted(nodes, key=lambda n: int(n["id"])):
        approved = set(node.get("approved_routes") or [])
        for route in node.get("available_routes") or []:
            if route in approved and not _is_exit(route):
                served.setdefault(route, []).append(
                    {
                        "id": int(node["id"]),
                        "label": _label(node, hosts_by_id),
                        "host": hosts_by_id.get(str(node["id"]), ""),
                        "online": bool(node.get("online")),
                        "primary": route in (node.get("subnet_routes") or []),
                    }
                )
    return dict(sorted(served.items(), key=lambda item: ipaddress.ip_network(item[0], strict=False)))


def summary_lines(nodes, hosts_by_id=None):
    """One line per subnet route: its primary first, then the standby routers."""
    lines = []
    for route, serving in routers(nodes, hosts_by_id).items():
        ordered = sorted(serving, key=lambda r: not r["primary"])
        parts = [
            "%s (%s%s)" % (r["label"], "primary" if r["primary"] else "standby", "" if r["online"] else ", offline")
            for r in ordered
        ]
        lines.append("%s: %s%s" % (route, ", ".join(parts), "" if ordered[0]["primary"] else " - no primary"))
    return lines


def drill_plan(nodes, hosts_by_id=None, route=""):
    """The failover drill's plan for ``route`` ('' = the one route two or more routers serve):
    {route, routers, primary, standby, problems}. ``problems`` lists, as sentences a user can act
    on, why the drill must not run; the drill refuses unless it is empty."""
    served = routers(nodes, hosts_by_id)
    problems = []
    if not route:
        shared = [r for r, serving in served.items() if len(serving) >= 2]
        if len(shared) == 1:
            route = shared[0]
        elif shared:
            problems.append(
                "failover_drill_route is not set and %d routes have two or more routers (%s): "
                "set it to one of them" % (len(shared), ", ".join(shared))
            )
        else:
            problems.append(
                "no subnet route is advertised and approved on two or more nodes: a failover "
                "drill needs two routers for the same subnet (routes served: %s)"
                % (", ".join("%s by %s" % (r, ", ".join(x["label"] for x in s)) for r, s in served.items()) or "none")
            )
    elif "/" not in route or _not_network(route):
        problems.append("failover_drill_route is %r: give the subnet as a CIDR, such as 192.168.1.0/24" % route)
        route = ""
    serving = served.get(route, []) if route else []
    if route and len(serving) < 2:
        problems.append(
            "only %d router(s) serve %s (%s): the drill needs two, both advertising the route "
            "with approval"
            % (len(serving), route, ", ".join(r["label"] for r in serving) or "none")
        )
    offline = [r["label"] for r in serving if not r["online"]]
    if len(serving) >= 2 and offline:
        problems.append(
            "router(s) of %s offline on headscale: %s; bring them online before the drill" % (route, ", ".join(offline))
        )
    primary = [r for r in serving if r["primary"]]
    if len(serving) >= 2 and not offline and len(primary) != 1:
        problems.append("headscale names %d primary routers for %s; expected one" % (len(primary), route))
    if len(primary) == 1 and not primary[0]["host"] and not problems:
        problems.append(
            "the primary router of %s, %s, is not a node of this inventory that answered: "
            "the drill takes its tailscale down over Ansible" % (route, primary[0]["label"])
        )
    return {
        "route": route,
        "routers": serving,
        "primary": primary[0] if len(primary) == 1 else None,
        "standby": [r for r in serving if not r["primary"]],
        "problems": problems,
    }


def _not_network(route):
    try:
        ipaddress.ip_network(route, strict=False)
    except ValueError:
        return True
    return _is_exit(route)
