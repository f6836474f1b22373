"""The headscale role's captive portal entry (headscale_disable_captive_portal_detection) against real
headscale 0.29 and tailscaled: the policy the role's policy entry point applies in database and file
mode, what a node receives, that the tailnet stays open when the user has no policy, and that a node
with the attribute does not probe tailscale.com when its DERP server is unreachable while one without
it does.

tailscale 1.102.3 probes http://controlplane.tailscale.com/generate_204 and login.tailscale.com when
a health warning says connectivity is impacted (feature/captiveportal/captiveportal.go,
onHealthChange); performCaptiveDetection returns early when the control knob
DisableCaptivePortalDetection is set, which the node attribute disable-captive-portal-detection sets
(control/controlknobs/controlknobs.go). headscale hands out nodeAttrs from 0.29.0 (CHANGELOG
"Node attributes (nodeAttrs)", #3251).
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
import yaml
from harness import egress
from harness.headscale import HeadscaleServer
from harness.modules import PlaybookRun, run_playbook
from harness.ports import free_port
from harness.tailscale import TailscaleNode, wait_for
from harness.versions import tailscale_versions

pytestmark = pytest.mark.headscale_version("0.29")

ATTR = "disable-captive-portal-detection"
EVERY_NODE = {"target": ["*"], "attr": [ATTR]}
PROBED = ("controlplane.tailscale.com", "login.tailscale.com")
SET_TASK = "Set the ACL policy in headscale's database"
WRITE_TASK = "Write the ACL policy file"


def apply_role_policy(server: HeadscaleServer, **role_vars: Any) -> PlaybookRun:
    """The role's policy entry point (as playbooks/tailnet.yml runs it) against ``server``, whose
    config.yaml is in its work folder (the role's headscale_config_dir)."""
    task = {"name": "Apply the role's ACL policy",
            "ansible.builtin.include_role": {"name": "selfhosted.headscale.headscale", "tasks_from": "policy"}}
    run = run_playbook([task], extra_vars={
        "headscale_version": server.version,
        "headscale_install_method": "binary",
        "headscale_binary_path": str(server.binary),
        "headscale_config_dir": str(server.workdir),
        "headscale_policy_mode": server.policy_mode,
        **role_vars,
    })
    assert run.rc == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return run


def task_result(run: PlaybookRun, name: str) -> dict[str, Any]:
    """The result of the last task called ``name`` (policy.yml's include has the name of the
    task it includes)."""
    found = [task["hosts"]["localhost"] for play in run.result["plays"] for task in play["tasks"]
             if task["task"]["name"].endswith(name)]
    assert found, f"no task {name!r} ran:\n{run.stdout[-3000:]}"
    return found[-1]


def capabilities(node: TailscaleNode) -> dict[str, Any]:
    """The node attributes of this node, as its tailscaled received them from headscale."""
    return node.status()["Self"].get("CapMap") or {}


def wait_for_attribute(node: TailscaleNode) -> None:
    wait_for(f"{node.hostname} to receive {ATTR}", lambda: ATTR in capabilities(node))


def packet_filter(server: HeadscaleServer) -> list[dict[str, Any]] | None:
    """headscale's compiled global filter (its /debug/filter on the metrics listener)."""
    url = f"http://127.0.0.1:{server.metrics_port}/debug/filter"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def pings(node: TailscaleNode, peer: TailscaleNode) -> bool:
    """An ICMP echo through both nodes' packet filters (userspace tailscaled answers it in netstack)."""
    address = peer.status()["Self"]["TailscaleIPs"][0]
    result = node.run("ping", "--icmp", "--c=3", "--timeout=3s", address, check=False, timeout=30)
    return result.returncode == 0 and "pong from" in result.stdout


def test_an_empty_policy_gets_the_entry_alone_and_the_tailnet_stays_open(fresh_headscale, tailscale_node):
    server = fresh_headscale
    nodes = tailscale_node.many(server, {"cpd-a": {"user": "cpd"}, "cpd-b": {"user": "cpd"}})
    a, b = nodes["cpd-a"], nodes["cpd-b"]
    no_policy = packet_filter(server)
    assert server.policy_text() is None
    assert pings(a, b)

    applied = apply_role_policy(server)  # no headscale_policy, no tailnet_policy
    assert task_result(applied, SET_TASK)["changed"] is True
    assert json.loads(server.policy_text()) == {"nodeAttrs": [EVERY_NODE]}
    again = apply_role_policy(server)
    assert task_result(again, SET_TASK)["changed"] is False

    for node in (a, b):
        wait_for_attribute(node)
    # No acls and no grants: the same allow-all filter as with no policy (SrcIPs "*"). An explicit
    # {"action": "accept", "src": ["*"], "dst": ["*:*"]} would narrow the sources to the tailnet's
    # prefixes on 0.29, and "acls": [] would deny everything.
    assert packet_filter(server) == no_policy == [
        {"SrcIPs": ["*"], "DstPorts": [{"IP": "*", "Ports": {"First": 0, "Last": 65535}}]}]
    assert pings(a, b) and pings(b, a)
    assert b.node_key in a.status()["Peer"]

    # The check can fail: the same nodes under a policy that allows nothing.
    server.set_policy(json.dumps({"acls": [], "nodeAttrs": [EVERY_NODE]}))
    wait_for("cpd-a to lose its peer", lambda: b.node_key not in (a.status().get("Peer") or {}))
    assert not pings(a, b)


def test_file_mode_merges_the_entry_into_the_users_policy(headscale_factory, tailscale_node, tmp_path):
    user_policy = {"groups": {"group:cpd": ["cpd-file@"]},
                   "acls": [{"action": "accept", "src": ["group:cpd"], "dst": ["*:*"]}]}
    server = headscale_factory(policy_mode="file", policy=json.dumps(user_policy))
    node = tailscale_node(server, "cpd-file", user="cpd-file")
    assert ATTR not in capabilities(node)

    file_mode = {"headscale_policy": user_policy, "headscale_policy_path": str(server.policy_path),
                 "headscale_binary_install_dir": str(tmp_path), "headscale_group": "root",
                 # The harness runs headscale, not systemd: the test sends the SIGHUP itself.
                 "headscale_service_state": "stopped"}
    written = apply_role_policy(server, **file_mode)
    assert task_result(written, WRITE_TASK)["changed"] is True  # after `headscale policy check` accepted it
    assert json.loads(server.policy_path.read_text()) == {**user_policy, "nodeAttrs": [EVERY_NODE]}
    again = apply_role_policy(server, **file_mode)
    assert task_result(again, WRITE_TASK)["changed"] is False

    server.reload()
    wait_for_attribute(node)


def _start_node(factory, server: HeadscaleServer, hostname: str, user: str,
                guard: egress.GuardSpec = egress.LAB) -> TailscaleNode:
    node = TailscaleNode(server, hostname, tailscale_versions()[0])
    node.guard_spec = guard
    factory.nodes.append(node)  # stopped by the fixture's teardown
    node.start_daemon()
    node.up(server.create_preauth_key(user))
    return node


def _queried(guard: egress.Guard, offset: int) -> set[str]:
    return {str(query.get("qname") or "").rstrip(".").lower() for query in guard.queries_since(offset)}


def test_only_the_node_without_the_attribute_probes_when_its_derp_server_is_unreachable(
        headscale_version, headscale_factory, tailscale_node, tmp_path, control_guard):
    # The trigger: tailscale's health tracker raises "no-derp-connection" (ImpactsConnectivity,
    # visible after 10 s) when the home DERP server cannot be reached while the node is in its
    # map poll (health/health.go); 2 s later the captive portal extension probes. Stopping
    # headscale does not do it here: without a map poll the DERP warnings are cleared. So the
    # nodes get a DERP map whose one server answers STUN (headscale's STUN listener: the node
    # picks it as home, and netcheck's own captive portal probe, which the attribute does not
    # stop, is cancelled by the STUN reply) and refuses DERP connections (a closed port).
    derp_map = tmp_path / "derp.yaml"
    server = HeadscaleServer(headscale_version, extra_config={"derp": {
        "server": {"automatically_add_embedded_derp_region": False}, "paths": [str(derp_map)]}})
    headscale_factory.servers.append(server)  # stopped by the fixture's teardown
    derp_map.write_text(yaml.safe_dump({"regions": {900: {
        "regionid": 900, "regioncode": "lab-refusing", "regionname": "Lab DERP that refuses connections",
        "nodes": [{"name": "900a", "regionid": 900, "hostname": "127.0.0.1", "ipv4": "127.0.0.1", "ipv6": "none",
                   "stunport": server.stun_port, "derpport": free_port()}]}}}))
    server.start()
    for user in ("cpd-on", "cpd-off"):
        server.ensure_user(user)
    # A user's policy that scopes the attribute: the role keeps it as it is.
    scoped = {"nodeAttrs": [{"target": ["cpd-on@"], "attr": [ATTR]}]}
    apply_role_policy(server, headscale_policy=scoped)
    assert json.loads(server.policy_text()) == scoped

    lab, control = egress.lab_guard(), control_guard
    lab_offset, control_offset = lab.snapshot().dns_offset, control.snapshot().dns_offset
    with_attr = _start_node(tailscale_node, server, "cpd-on", "cpd-on")
    # The negative control runs under the guard's CONTROL group: its probe is recorded by the
    # control resolver and never counts against the lab's record.
    without = _start_node(tailscale_node, server, "cpd-off", "cpd-off", guard=egress.CONTROL)
    try:
        assert ATTR in capabilities(with_attr) and ATTR not in capabilities(without)
        wait_for("cpd-off to probe login.tailscale.com",
                 lambda: "login.tailscale.com" in _queried(control, control_offset), timeout=60, interval=1)
        wait_for("cpd-on to see the same impaired connectivity",
                 lambda: "triggering captive portal detection" in with_attr.log_text(), timeout=30)
        time.sleep(5)  # its 2 s detection timer has run out
    finally:
        without.stop(check_log=False)
    assert "triggering captive portal detection" in without.log_text()
    assert not set(PROBED) & _queried(lab, lab_offset)


def test_a_policy_stored_elsewhere_is_kept_unless_the_role_is_given_one(fresh_headscale):
    """With no headscale_policy the entry is only a default: a policy someone set with the CLI or
    Headplane stays as it is (keep_existing); a policy given to the role replaces it, entry added."""
    server = fresh_headscale
    theirs = ('{\n  // set in Headplane\n'
              '  "acls": [{"action": "accept", "src": ["autogroup:member"], "dst": ["*:22"]}]\n}\n')
    server.set_policy(theirs)

    kept = apply_role_policy(server)
    assert task_result(kept, SET_TASK)["changed"] is False
    assert server.policy_text().strip() == theirs.strip()

    mine = {"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}
    replaced = apply_role_policy(server, headscale_policy=mine)
    assert task_result(replaced, SET_TASK)["changed"] is True
    assert json.loads(server.policy_text()) == {**mine, "nodeAttrs": [EVERY_NODE]}
