"""Import paths shared by every test folder.

- the repository root, so tests import shared helpers as ``tests.checks.nothing_calls_home``;
- ``.collections``, so our code imports as ``ansible_collections.selfhosted.headscale...``
  exactly as Ansible imports it (``make setup`` creates the symlink).
"""

from __future__ import annotations

import sys
from pathlib import Path

from xdist.scheduler import LoadScopeScheduling

REPO = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / ".collections"

# Appended, not prepended: an installed package always wins over a same-named folder here
# (e.g. the molecule package over our molecule/ scenarios).
for path in (REPO, COLLECTIONS):
    if str(path) not in sys.path:
        sys.path.append(str(path))


class FileOrScenarioScheduling(LoadScopeScheduling):
    """pytest-xdist's loadscope, with a test file or a molecule scenario as the scope.

    A test file stays on one worker, so its module-scoped headscale servers are shared by
    its tests. A molecule scenario is one unit too (its parameterised runs, whose ids start
    with the scenario name, reuse the same container names and must never overlap), so two
    scenarios may run side by side.
    """

    def _split_scope(self, nodeid: str) -> str:
        path, _sep, test = nodeid.partition("::")
        if path.startswith("tests/molecule/") and "[" in test:
            return "molecule:" + test.split("[", 1)[1].rstrip("]").split("-", 1)[0]
        return path


def pytest_xdist_make_scheduler(config, log):
    """``make test`` runs ``--dist loadscope``; units go out in collection order
    (``--no-loadscope-reorder``): the long molecule scenarios first."""
    if config.getvalue("dist") != "loadscope":
        return None
    return FileOrScenarioScheduling(config, log)
