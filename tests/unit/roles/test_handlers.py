"""Every ``notify`` in a role reaches every handler meant for it.

ansible-core matches a notification against handler names and ``listen`` topics exactly, case
included: a task notifying ``Restart headscale`` reaches a handler of that name but not one that
listens for ``restart headscale``. A role whose handlers for one action differ only in case (one per
install method) then restarts one method and silently not the other. Here every notification must
reach exactly the handlers whose name or topic it names when case is ignored, and at least one.

Notifications handed to the internal install roles (``binary_install_notify``,
``image_install_notify``) are notifications of the calling role.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"
NOTIFY_VARIABLES = ("binary_install_notify", "image_install_notify")


def handlers(role: str) -> list[dict]:
    path = ROLES / role / "handlers" / "main.yml"
    return (yaml.safe_load(path.read_text()) or []) if path.exists() else []


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def notifications(role: str) -> set[str]:
    """Every notification a task of the role sends by a literal name (templated ones are the
    internal roles' pass-through of their caller's)."""
    found: set[str] = set()
    for path in (ROLES / role / "tasks").glob("*.yml"):
        for node in _walk(yaml.safe_load(path.read_text())):
            for key in ("notify", *NOTIFY_VARIABLES):
                found.update(name for name in _as_list(node.get(key)) if "{{" not in name)
    return found


def reached(role_handlers: list[dict], notification: str, fold_case: bool) -> list[str]:
    def same(a: str) -> bool:
        return a.lower() == notification.lower() if fold_case else a == notification

    return [h["name"] for h in role_handlers
            if same(h["name"]) or any(same(topic) for topic in _as_list(h.get("listen")))]


ROLE_NAMES = sorted(path.name for path in ROLES.iterdir() if (path / "tasks").is_dir())


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_notification_reaches_all_its_handlers(role: str) -> None:
    role_handlers = handlers(role)
    problems = []
    for notification in sorted(notifications(role)):
        exact = reached(role_handlers, notification, fold_case=False)
        folded = reached(role_handlers, notification, fold_case=True)
        if not exact:
            problems.append(f"{notification!r} reaches no handler")
        elif exact != folded:
            problems.append(f"{notification!r} reaches {exact} but not {sorted(set(folded) - set(exact))}")
    assert not problems, f"roles/{role}: " + "; ".join(problems)


def test_the_check_sees_the_roles_notifications() -> None:
    """The walk finds the notifications (a check that finds none proves nothing)."""
    assert "restart headscale" in notifications("headscale")
    assert "reload headscale" in notifications("headscale")


def test_a_case_mismatch_is_caught() -> None:
    """Negative control: the shape of the bug it guards against (the headscale role before the fix)."""
    role_handlers = [
        {"name": "Restart headscale", "listen": "restart headscale"},
        {"name": "Restart the headscale container", "listen": "restart headscale"},
    ]
    assert reached(role_handlers, "Restart headscale", fold_case=False) == ["Restart headscale"]
    assert reached(role_handlers, "Restart headscale", fold_case=True) == [
        "Restart headscale", "Restart the headscale container"]
