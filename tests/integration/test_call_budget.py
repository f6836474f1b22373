"""A no-op module run reads each object type with at most one list command.

The headscale binary is wrapped by a script that logs every command (harness.call_counter);
the modules run with that wrapper as `headscale_command`. bench/bench_noop.py measures the
time side of the same promise on a loaded server.
"""

from __future__ import annotations

from collections import Counter

from harness.call_counter import CallCounter
from harness.modules import connection_args, run_module

ROUTE = "10.40.0.0/24"


def counted_args(server, counter: CallCounter, **options) -> dict:
    return {**connection_args(server, "cli"), "headscale_command": [str(counter.wrapper)], **options}


def assert_one_list_per_object_type(counter: CallCounter) -> None:
    repeated = {call: n for call, n in Counter(counter.list_calls()).items() if n > 1}
    assert not repeated, f"list commands issued more than once: {repeated}; all calls: {counter.calls()}"


def test_noop_user_run_lists_users_once(headscale, tmp_path):
    headscale.ensure_user("budget-user")
    counter = CallCounter(headscale.binary, tmp_path)

    result = run_module("headscale_user", counted_args(headscale, counter, name="budget-user"))

    assert not result.get("failed"), result
    assert result["changed"] is False
    assert counter.list_calls() == ["users list"]


def test_noop_routes_run_lists_nodes_once(headscale, tailscale_node, tmp_path):
    tailscale_node(headscale, "budget-router", advertise_routes=[ROUTE])
    counter = CallCounter(headscale.binary, tmp_path)
    args = counted_args(headscale, counter, node="budget-router", routes=[ROUTE], mode="equal")
    applied = run_module("headscale_routes", args)
    assert applied["changed"] is True, applied
    counter.reset()

    result = run_module("headscale_routes", args)

    assert not result.get("failed"), result
    assert result["changed"] is False
    assert_one_list_per_object_type(counter)
    assert "nodes list" in counter.list_calls()
    assert not [call for call in counter.calls() if "approve-routes" in call]
