"""Count the headscale commands a module run issues (CLI transport).

A wrapper script logs its argv, then runs the real binary; modules use it as
``headscale_command``. Used by the call-budget test and by bench/bench_noop.py.
"""

from __future__ import annotations

import shlex
from pathlib import Path


class CallCounter:
    def __init__(self, real_binary: Path, workdir: Path):
        self.log = workdir / "headscale-calls.log"
        self.wrapper = workdir / "headscale-counting"
        self.wrapper.write_text(
            f'#!/bin/sh\nprintf "%s\\n" "$*" >> {shlex.quote(str(self.log))}\n'
            f'exec {shlex.quote(str(real_binary))} "$@"\n'
        )
        self.wrapper.chmod(0o755)

    def reset(self) -> None:
        self.log.unlink(missing_ok=True)

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def list_calls(self) -> list[str]:
        """The `<object> list` commands issued, e.g. ['users list', 'nodes list']."""
        found = []
        for call in self.calls():
            words = _without_global_options(call.split())
            if "list" in words:
                found.append(" ".join(words[: words.index("list") + 1]))
        return found


GLOBAL_OPTIONS_WITH_VALUE = {"-c", "--config", "-o", "--output"}


def _without_global_options(words: list[str]) -> list[str]:
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in GLOBAL_OPTIONS_WITH_VALUE:
            skip = True
        elif not word.startswith("-"):
            kept.append(word)
    return kept
