"""What the playbooks find a node by: the ID it reports, not its host name.

tailscale reports its stable node ID as ``Self.ID`` in ``tailscale status --json``; headscale
sets it to its own node ID in decimal (``NodeID.StableID`` in hscontrol/types/node.go, the same
in 0.26.1 and 0.29.3). The tailscale_client role publishes it as ``tailscale_client_node_id``,
and playbooks/tailnet.yml and verify.yml look nodes up by it, so that nodes whose OS host names
differ from their inventory names, or are shared (every fresh Raspberry Pi OS is
``raspberrypi``), are found all the same. This runs that claim against the real programs.
"""

from __future__ import annotations


def test_each_node_reports_its_headscale_id_whatever_its_host_name(headscale, tailscale_node):
    nodes = tailscale_node.many(headscale, {
        "pi-1": {"hostname": "raspberrypi"},
        "pi-2": {"hostname": "raspberrypi"},
    })
    listed = {n["id"]: n for n in headscale.nodes()}
    reported = {label: node.status()["Self"]["ID"] for label, node in nodes.items()}

    assert reported == {label: str(node.node_id) for label, node in nodes.items()}
    assert len(set(reported.values())) == 2
    # Both carry the same host name on headscale; only the ID tells them apart.
    assert {listed[node.node_id]["name"] for node in nodes.values()} == {"raspberrypi"}
