# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HuJSON ("human JSON": JSON with comments and trailing commas), as headscale reads its ACL policy.

Pure functions: ``parse`` returns the JSON value, ``canonical`` a normalised text to compare two
policies by meaning rather than by bytes (comments, whitespace, key order and trailing commas do not
count). Comments and trailing commas are blanked out in place, so error positions refer to the
original text.
"""

from __future__ import annotations

import json


class HuJSONError(ValueError):
    """The text is not valid HuJSON; the message gives line and column."""


def standardize(text):
    """``text`` as plain JSON: comments and trailing commas replaced by spaces (newlines kept)."""
    out = list(text)
    length = len(text)
    index = 0
    in_string = False
    last_comma = None  # index of a comma that may turn out to be trailing
    while index < length:
        char = text[index]
        if in_string:
            if char == "\\":
                index += 2
                continue
            if char == '"':
                in_string = False
            index += 1
            continue
        if char == '"':
            in_string = True
            last_comma = None
        elif char == "/" and text.startswith("//", index):
            end = text.find("\n", index)
            end = length if end == -1 else end
            for blank in range(index, end):
                out[blank] = " "
            index = end
            continue
        elif char == "/" and text.startswith("/*", index):
            end = text.find("*/", index + 2)
            if end == -1:
                line, column = position(text, index)
                raise HuJSONError("unterminated /* comment starting at line %d column %d" % (line, column))
            for blank in range(index, end + 2):
                if out[blank] != "\n":
                    out[blank] = " "
            index = end + 2
            continue
        elif char == ",":
            last_comma = index
        elif char in "}]":
            if last_comma is not None:
                out[last_comma] = " "
            last_comma = None
        elif not char.isspace():
            last_comma = None
        index += 1
    if in_string:
        raise HuJSONError("unterminated string at the end of the text")
    return "".join(out)


def position(text, index):
    """1-based (line, column) of ``index`` in ``text``."""
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def parse(text):
    """The JSON value of a HuJSON text; raises ``HuJSONError`` with line and column."""
    if not isinstance(text, str):
        raise HuJSONError("expected text, got %s" % type(text).__name__)
    plain = standardize(text)
    try:
        return json.loads(plain)
    except ValueError as exc:
        if not isinstance(exc, json.JSONDecodeError):
            raise HuJSONError(str(exc)) from None
        raise HuJSONError("%s at line %d column %d" % (exc.msg, exc.lineno, exc.colno)) from None


def canonical(value):
    """A normalised JSON text of a value (sorted keys, no whitespace), for comparisons."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
