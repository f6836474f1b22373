"""Import paths shared by every test folder.

- the repository root, so tests import shared helpers as ``tests.checks.nothing_calls_home``;
- ``.collections``, so our code imports as ``ansible_collections.selfhosted.headscale...``
  exactly as Ansible imports it (``make setup`` creates the symlink).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / ".collections"

# Appended, not prepended: an installed package always wins over a same-named folder here
# (e.g. the molecule package over our molecule/ scenarios).
for path in (REPO, COLLECTIONS):
    if str(path) not in sys.path:
        sys.path.append(str(path))
