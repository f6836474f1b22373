# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The tailnet audit: what will expire or has drifted, from normalised nodes and keys.

Pure functions (no I/O), fed with what ``HeadscaleClient`` lists, so the unit tests run them on
recordings of the real servers. ``findings`` returns one dict per finding::

    {"kind": "node_key_expiring", "severity": "warning", "subject": "db-primary (node 3)",
     "detail": "node key expires in 5 days (2026-12-12T10:00:00Z)", "days": 5.0}

``table`` and ``prometheus`` render them for people and for node_exporter's textfile collector.
"""

from __future__ import annotations

import ipaddress
import re

# kind -> severity. Expired or refused things are critical; what will happen soon is a warning.
KINDS = {
    "node_key_expired": "critical",
    "node_key_expiring": "warning",
    "node_offline": "warning",
    "apikey_expiring": "warning",
    "preauthkey_expiring": "warning",
    "route_not_approved": "warning",
    "route_not_advertised": "warning",
    "hostname_duplicate": "warning",
    "client_too_old": "critical",
    "client_version_unknown": "warning",
    "tags_differ": "warning",
}

# The oldest tailscale client each headscale minor accepts (its MinSupportedCapabilityVersion,
# hscontrol/capver/capver_generated.go at the tag; CHANGELOG 0.27 "v1.64.0", 0.28, 0.29 "v1.80.0").
CLIENT_MINIMUM = {
    (0, 26): (1, 62),
    (0, 27): (1, 64),
    (0, 28): (1, 74),
    (0, 29): (1, 80),
}

SECONDS_PER_DAY = 86400.0
_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def client_version(text):
    """``'1.80.3-t1a2b3c'`` or ``'1.80.3'`` -> ``(1, 80, 3)``; ``None`` when unreadable."""
    match = _VERSION_RE.match(str(text or "").strip())
    return tuple(int(part or 0) for part in match.groups()) if match else None


def next_client_minimum(server_version):
    """The client minimum of the next headscale minor after ``server_version`` (what an upgrade
    would demand), or of the newest known minor when there is no next one."""
    minors = sorted(CLIENT_MINIMUM)
    later = [minor for minor in minors if minor > tuple(server_version[:2])]
    return CLIENT_MINIMUM[later[0] if later else minors[-1]]


def _days(delta):
    return round(delta.total_seconds() / SECONDS_PER_DAY, 1)


def _stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def node_label(node):
    return "%s (node %s)" % (node["given_name"] or node["name"], node["id"])


def _is_exit(route):
    return ipaddress.ip_network(route, strict=False).prefixlen == 0


def _finding(kind, subject, detail, **extra):
    found = {"kind": kind, "severity": KINDS[kind], "subject": subject, "detail": detail}
    found.update(extra)
    return found


def _node_findings(node, now, expiry_days, offline_days):
    found = []
    label = node_label(node)
    if node["expiry"] is not None:
        left = node["expiry"] - now
        if left.total_seconds() <= 0:
            found.append(_finding("node_key_expired", label, "node key expired %s days ago (%s)" % (
                _days(-left), _stamp(node["expiry"])), node_id=node["id"], days=-_days(-left)))
        elif left.total_seconds() <= expiry_days * SECONDS_PER_DAY:
            found.append(_finding("node_key_expiring", label, "node key expires in %s days (%s)" % (
                _days(left), _stamp(node["expiry"])), node_id=node["id"], days=_days(left)))
    if not node["online"] and node["last_seen"] is not None:
        away = now - node["last_seen"]
        if away.total_seconds() > offline_days * SECONDS_PER_DAY:
            found.append(_finding("node_offline", label, "offline for %s days (last seen %s)" % (
                _days(away), _stamp(node["last_seen"])), node_id=node["id"], days=_days(away)))
    for route in node["available_routes"]:
        if route not in node["approved_routes"]:
            what = "exit node" if _is_exit(route) else "route %s" % route
            found.append(_finding("route_not_approved", label, "%s advertised but not approved" % what,
                                  node_id=node["id"], route=route))
    for route in node["approved_routes"]:
        if route not in node["available_routes"]:
            what = "exit node" if _is_exit(route) else "route %s" % route
            found.append(_finding("route_not_advertised", label, "%s approved but no longer advertised" % what,
                                  node_id=node["id"], route=route))
    return found


def _key_findings(kind, keys, now, days, label):
    found = []
    for key in keys:
        if key["expiration"] is None:
            continue
        left = key["expiration"] - now
        if 0 < left.total_seconds() <= days * SECONDS_PER_DAY:
            detail = "expires in %s days (%s)" % (_days(left), _stamp(key["expiration"]))
            found.append(_finding(kind, label(key), detail, days=_days(left)))
    return found


def _preauthkey_label(key):
    return "pre-auth key %s of %s" % (key["id"], key["user"] or "tags " + ",".join(key["acl_tags"]))


def _refs(node):
    """The names a user may give a node in ``client_versions`` / ``expected_tags``."""
    return [str(node["id"]), node["given_name"], node["name"]]


def _lookup(mapping, node):
    for ref in _refs(node):
        if ref in mapping:
            return ref, mapping[ref]
    return None, None


def findings(nodes, apikeys, preauthkeys, now, *, expiry_days=14, offline_days=30, key_days=7,
             client_versions=None, min_client=None, expected_tags=None):
    """Every finding, sorted critical first, then by kind and subject.

    ``client_versions``: {node ID, given name or host name: version text} (what the nodes report);
    ``min_client``: (major, minor) the clients must reach; ``expected_tags``: {node ref: [tags]}.
    Nodes named in neither mapping are not judged on them.
    """
    found = []
    for node in nodes:
        found += _node_findings(node, now, expiry_days, offline_days)
    found += _key_findings("apikey_expiring", apikeys, now, key_days, lambda key: "API key %s" % key["prefix"])
    live = [key for key in preauthkeys if key["reusable"] or not key["used"]]
    found += _key_findings("preauthkey_expiring", live, now, key_days, _preauthkey_label)
    names = {}
    for node in nodes:
        names.setdefault(node["name"], []).append(node)
    for name, same in sorted(names.items()):
        if len(same) > 1:
            labels = ", ".join(node_label(node) for node in same)
            found.append(_finding("hostname_duplicate", name, "host name used by %d nodes: %s" % (len(same), labels),
                                  node_ids=[node["id"] for node in same]))
    for node in nodes:
        if client_versions is not None and min_client is not None:
            ref, text = _lookup(client_versions, node)
            if ref is not None:
                have = client_version(text)
                if have is None:
                    found.append(_finding("client_version_unknown", node_label(node),
                                          "client version %r cannot be read" % (text,), node_id=node["id"]))
                elif have[:2] < tuple(min_client):
                    found.append(_finding("client_too_old", node_label(node), "tailscale %s is older than %d.%d" % (
                        text, min_client[0], min_client[1]), node_id=node["id"], version=text))
        if expected_tags is not None:
            ref, tags = _lookup(expected_tags, node)
            if ref is not None and sorted(set(tags)) != node["tags"]:
                found.append(_finding("tags_differ", node_label(node), "tags %s, the inventory says %s" % (
                    node["tags"] or "none", sorted(set(tags)) or "none"), node_id=node["id"]))
    order = {"critical": 0, "warning": 1}
    return sorted(found, key=lambda f: (order[f["severity"]], f["kind"], f["subject"]))


def summary(found):
    """{kind: count} for every kind (zeros included), so a dashboard sees a kind go back to 0."""
    counts = {kind: 0 for kind in KINDS}
    for item in found:
        counts[item["kind"]] += 1
    return counts


def table(found):
    """Lines of a fixed-width table (severity, kind, subject, detail); one line when clean."""
    if not found:
        return ["no findings"]
    rows = [("SEVERITY", "KIND", "SUBJECT", "DETAIL")] + [
        (f["severity"], f["kind"], f["subject"], f["detail"]) for f in found]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return ["  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3] for row in rows]


def _escape(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def prometheus(found, now, server):
    """The node_exporter textfile-collector format: counts per kind, counts per subject and kind
    (a node with two unapproved routes is one series with value 2), and the time of the audit."""
    lines = [
        "# HELP headscale_audit_findings Findings of the last headscale audit, by kind.",
        "# TYPE headscale_audit_findings gauge",
    ]
    for kind, count in summary(found).items():
        lines.append('headscale_audit_findings{server="%s",kind="%s",severity="%s"} %d' % (
            _escape(server), kind, KINDS[kind], count))
    lines += [
        "# HELP headscale_audit_subject_findings Findings of the last headscale audit per subject and kind.",
        "# TYPE headscale_audit_subject_findings gauge",
    ]
    per_subject = {}
    for item in found:
        key = (item["kind"], item["severity"], item["subject"])
        per_subject[key] = per_subject.get(key, 0) + 1
    for (kind, severity, subject), count in sorted(per_subject.items()):
        lines.append('headscale_audit_subject_findings{server="%s",kind="%s",severity="%s",subject="%s"} %d' % (
            _escape(server), kind, severity, _escape(subject), count))
    lines += [
        "# HELP headscale_audit_timestamp_seconds When the last headscale audit ran.",
        "# TYPE headscale_audit_timestamp_seconds gauge",
        'headscale_audit_timestamp_seconds{server="%s"} %d' % (_escape(server), int(now.timestamp())),
    ]
    return "\n".join(lines) + "\n"
