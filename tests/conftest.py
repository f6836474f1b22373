"""Import paths shared by every test folder.

- the repository root, so tests import shared helpers as ``tests.checks.nothing_calls_home``;
- ``.collections``, so our code imports as ``ansible_collections.selfhosted.headscale...``
  exactly as Ansible imports it (``make setup`` creates the symlink).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / ".collections"

# Appended, not prepended: an installed package always wins over a same-named folder here
# (e.g. the molecule package over our molecule/ scenarios).
for path in (REPO, COLLECTIONS):
    if str(path) not in sys.path:
        sys.path.append(str(path))


def pytest_collection_modifyitems(config, items):
    """Group tests for pytest-xdist's ``--dist loadgroup`` (``make test``).

    A test file is one group, so its module-scoped headscale servers are shared by its
    tests on one worker. A molecule scenario is one group too (its parameterised runs reuse
    the same container names, so they must never overlap), and each scenario may run beside
    another one on the other worker.
    """
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        callspec = getattr(item, "callspec", None)
        if item.get_closest_marker("molecule") and callspec and "scenario" in callspec.params:
            group = f"molecule-{callspec.params['scenario']}"
        else:
            group = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
