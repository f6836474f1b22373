"""The harness itself: servers start clean, the CLI and REST helpers work, nothing leaves the
machine, dead daemons are reported at once, teardown stops everything whatever fails.

The negative controls of the egress guard run under the guard's CONTROL group (its own chain,
counters, resolver and query log: harness/egress.py), so the packets and queries they cause
never show in the LAB counters every fixture's teardown reads. They send nothing off the
machine: the one packet goes to 198.19.255.254 (the project's own range) and is dropped in
OUTPUT; the DNS query is redirected to the local lab resolver.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
from harness import egress, processes
from harness.headscale import HeadscaleServer, lab_config_problems
from harness.tailscale import TailscaleNode, wait_for
from harness.versions import tailscale_binaries, tailscale_versions, version_tuple


def test_headscale_serves_health_cli_and_api(headscale: HeadscaleServer) -> None:
    assert headscale.healthy()
    version = headscale.cli("version")
    assert version["version"].lstrip("v") == headscale.version
    user = headscale.ensure_user("harness-user")
    assert user["name"] == "harness-user"
    assert headscale.ensure_user("harness-user")["id"] == user["id"]
    listed = headscale.api("GET", "/api/v1/user")["users"]
    assert "harness-user" in [u["name"] for u in listed]
    assert headscale.policy_text() is None  # database mode, nothing stored


def test_running_server_reads_a_config_that_follows_lab_rules(headscale: HeadscaleServer) -> None:
    # The process really runs with our config file and under the egress guard's group ...
    argv = processes.cmdline(headscale.pid)
    assert argv[argv.index("-c") + 1] == str(headscale.config_path)
    assert processes.gids(headscale.pid)[3] == egress.lab_guard().gid
    # ... and that file, as on disk now, passes the check every teardown makes.
    on_disk = headscale.disk_config()
    assert lab_config_problems(on_disk) == []
    assert on_disk["derp"]["server"]["enabled"] is True
    assert len(str(headscale.socket_path)) < 108
    # The check is not a formality: each broken rule is named.
    broken = copy.deepcopy(on_disk)
    broken["disable_check_updates"] = False
    broken["derp"]["urls"] = ["https://controlplane.tailscale.com/derpmap/default"]
    broken["logtail"] = {"enabled": True}
    problems = "\n".join(lab_config_problems(broken))
    assert "disable_check_updates is False" in problems
    assert "derp.urls is ['https://controlplane.tailscale.com/derpmap/default']" in problems
    assert "logtail.enabled is true" in problems
    del broken["derp"]["urls"]  # headscale's default is Tailscale's DERP map
    assert any("derp.urls is '<missing>'" in p for p in lab_config_problems(broken))


def test_clients_get_only_the_embedded_derp_region(headscale: HeadscaleServer, tailscale_node) -> None:
    node = tailscale_node(headscale, "harness-derp")
    argv = processes.cmdline(node.daemon.pid)
    assert "--no-logs-no-support" in argv
    assert processes.gids(node.daemon.pid)[3] == egress.lab_guard().gid
    derp_map = json.loads(node.run("debug", "derp-map").stdout)
    regions = derp_map["Regions"]
    assert list(regions) == ["999"], regions
    assert {n["HostName"] for n in regions["999"]["Nodes"]} == {"127.0.0.1"}


@pytest.mark.headscale_version(">=0.29")
def test_marker_restricts_versions(headscale_version: str) -> None:
    assert version_tuple(headscale_version) >= (0, 29)


def test_file_policy_mode_reloads_on_sighup(headscale_factory) -> None:
    server = headscale_factory(policy_mode="file")
    assert server.policy_path is not None and server.policy_path.read_text() == ""
    policy = '{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}'
    server.policy_path.write_text(policy)
    server.reload()
    got = server.cli("policy", "get", output_json=False)
    assert '"accept"' in got
    assert server.alive()


def test_tailscale_node_enrols_and_advertises(headscale: HeadscaleServer, tailscale_node) -> None:
    node = tailscale_node(headscale, "harness-router", advertise_routes=["10.99.0.0/24"], exit_node=True)
    hs_node = node.headscale_node()
    assert hs_node["name"] == "harness-router"
    assert set(hs_node.get("available_routes") or []) == {"10.99.0.0/24", "0.0.0.0/0", "::/0"}
    assert not hs_node.get("approved_routes")
    changed = node.advertise(["10.99.1.0/24"])
    assert changed["available_routes"] == ["10.99.1.0/24"]


# -- daemons that die ---------------------------------------------------------------------------
def test_a_just_started_daemon_is_never_read_as_running_without_argv() -> None:
    # Right after Popen returns, a big binary's /proc/PID/cmdline can still read empty (CI once
    # failed a fleet fixture on that). started_argv waits the window out: argv, or None if it exited.
    argv = [str(tailscale_binaries(tailscale_versions()[0])[1]), "--version"]

    def start_once() -> list[str] | None:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                start_new_session=True, **egress.lab_guard().popen_kwargs())
        try:
            return processes.started_argv(proc)
        finally:
            proc.wait(timeout=30)

    with ThreadPoolExecutor(max_workers=4) as pool:
        seen = [future.result() for future in [pool.submit(start_once) for attempt in range(200)]]
    assert [found for found in seen if found not in (argv, None)] == []
    assert argv in seen


def test_a_dead_tailscaled_is_named_by_wait_loops_and_teardown(headscale: HeadscaleServer) -> None:
    node = TailscaleNode(headscale, "harness-doomed", tailscale_versions()[0]).start_daemon()
    try:
        os.kill(node.daemon.pid, signal.SIGKILL)
        node.daemon.wait(timeout=10)
        # Not a timeout: the wait fails on its first round, naming the node and its log.
        with pytest.raises(processes.ProcessDied, match=r"tailscaled harness-doomed .* exited rc -9 during the test"):
            wait_for("something that will never happen", lambda: False, timeout=600)
        with pytest.raises(processes.ProcessDied, match="harness-doomed"):
            node.run("status")
    finally:
        with pytest.raises(AssertionError, match="tailscaled harness-doomed exited on its own during the test"):
            node.stop()
        node.cleanup()
    processes.check_running()  # unregistered by stop(): later waits are not affected


def test_a_dead_headscale_is_named_by_wait_loops_and_teardown(headscale_version: str) -> None:
    server = HeadscaleServer(headscale_version).start()
    try:
        os.kill(server.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        with pytest.raises(processes.ProcessDied, match=rf"headscale {headscale_version} .* exited rc -9"):
            wait_for("something that will never happen", lambda: False, timeout=600)
    finally:
        with pytest.raises(AssertionError, match="headscale exited on its own during the test"):
            server.stop()
        server.cleanup()


def test_teardown_stops_everything_whatever_fails(headscale_version: str) -> None:
    broken, healthy = HeadscaleServer(headscale_version).start(), HeadscaleServer(headscale_version).start()
    broken.config_path.unlink()  # stop() now raises FileNotFoundError (not an AssertionError) reading it
    errors = processes.stop_all([broken, healthy])
    assert len(errors) == 1 and "FileNotFoundError" in errors[0], errors
    assert not broken.alive() and not healthy.alive()  # both processes are gone
    assert broken.workdir.exists()  # the failed one keeps its folder (log) for inspection ...
    assert not healthy.workdir.exists()  # ... the clean one is removed
    broken.cleanup()


# -- egress guard and DNS record: negative controls --------------------------------------------
def _as_control_group(code: str) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` under the CONTROL guard's group."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60, check=False, **egress.guard(egress.CONTROL).popen_kwargs())


def test_guard_counts_a_packet_that_would_leave_the_machine(control_guard: egress.Guard) -> None:
    control = control_guard
    before = control.snapshot()
    sent = _as_control_group("""
        import socket
        try:
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("198.19.255.254", 9))
        except OSError as exc:
            print("sendto:", exc)
    """)
    print(sent.stdout, sent.stderr)
    assert "Operation not permitted" in sent.stdout  # dropped in OUTPUT: it never left
    assert control.dropped() == before.dropped + 1
    problems = control.problems_since(before, "the negative control")
    print("\n".join(problems))
    assert len(problems) == 1 and "1 packet(s) of group hslabctl were dropped" in problems[0]
    assert "hslabctl-egress: " in problems[0]  # where to look


def test_dns_record_reports_a_query_for_a_tailscale_name(control_guard: egress.Guard) -> None:
    control = control_guard
    before = control.snapshot()
    asked = _as_control_group("""
        import socket
        try:
            print(socket.getaddrinfo("controlplane.tailscale.com", 443))
        except OSError as exc:
            print("getaddrinfo:", exc)
    """)
    print(asked.stdout, asked.stderr)
    assert "getaddrinfo:" in asked.stdout  # NXDOMAIN from the lab resolver
    problems = control.problems_since(before, "the negative control")
    print("\n".join(problems))
    assert len(problems) == 1 and "controlplane.tailscale.com -> NXDOMAIN" in problems[0]
    assert control.dropped() == before.dropped  # the redirected query is not counted as egress


def test_guard_does_not_count_the_machines_own_addresses(control_guard: egress.Guard) -> None:
    # The address this machine would send from (a UDP connect sends nothing) ...
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.connect(("198.19.255.254", 9))
    own = probe.getsockname()[0]
    probe.close()
    assert not own.startswith("127.")
    # ... is local: a packet to it goes through lo, arrives, and is not counted.
    control = control_guard
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind((own, 0))
        listener.settimeout(10)
        before = control.snapshot()
        sent = _as_control_group(f"""
            import socket
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"local", ({own!r}, {listener.getsockname()[1]}))
        """)
        assert sent.returncode == 0, sent.stderr
        assert listener.recvfrom(100)[0] == b"local"
    assert control.dropped() == before.dropped


def test_self_test_of_an_alive_guard_and_of_a_blind_one(control_guard: egress.Guard) -> None:
    """The check the last worker runs on the LAB guard (egress.self_test), here on the CONTROL
    guard: alive, it counts its packet and records its query; when the packet never reaches
    the guard (loopback here, a missing hook in the field), or the rules are gone, it fails."""
    control = control_guard
    alive = egress.self_test(control)
    assert alive["ok"] and alive["dropped"] == 1 and set(alive["recorded"]) == {egress.SELF_TEST_NAME}, alive
    blind = egress.self_test(control, target=("127.0.0.1", 9))
    assert not blind["ok"] and blind["dropped"] == 0 and blind["rules_present"], blind
    egress.remove_rules(egress.CONTROL)
    try:
        assert not egress.rules_present(egress.CONTROL, control.dns_port)
    finally:
        egress.install_rules(egress.CONTROL, control.dns_port)
    assert egress.self_test(control)["ok"]


def test_session_problems_fail_on_the_lab_totals_only() -> None:
    clean = {"lab": {"dropped": 0, "queries": 3, "foreign": [], "self_test": {"ok": True}},
             "control": {"dropped": 4, "queries": 2, "foreign": ["x -> NXDOMAIN"]}}
    lines = [json.dumps({"last": False, "lab": {"dropped": 0, "queries": 1, "foreign": []}}),
             json.dumps({"last": True, **clean})]
    assert egress.session_problems(lines) == []  # the control guard counts on purpose
    dirty = json.dumps({"last": False, "lab": {"dropped": 2, "queries": 1, "foreign": ["t asked A a.example"]}})
    found = egress.session_problems([dirty, lines[1]])
    assert len(found) == 2 and "2 packet(s) of group hslab" in found[0] and "a.example" in found[1]
    blind = json.dumps({"last": True, "lab": {**clean["lab"], "self_test": {"ok": False, "dropped": 0}}})
    assert "self-test failed" in egress.session_problems([blind])[0]
    assert "could not be read" in egress.session_problems([json.dumps({"last": True, "lab": {"error": "x"}})])[0]
