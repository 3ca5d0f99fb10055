"""Split a SQL script into statements, as psql does, for changes that cannot run in one transaction.

A multi-statement query string runs as one implicit transaction in PostgreSQL, which
``CREATE INDEX CONCURRENTLY`` and procedures that ``COMMIT`` refuse; so a non-transactional change is
sent one statement at a time. Understands quotes, dollar quotes, ``E''`` escapes and both comment forms.
"""

from __future__ import annotations

import re

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def split_statements(script: str) -> list[str]:
    """The script's statements without their terminating semicolons; empty ones dropped."""
    statements: list[str] = []
    start = i = 0
    n = len(script)
    while i < n:
        ch = script[i]
        if ch == "-" and script.startswith("--", i):
            i = _line_end(script, i)
        elif ch == "/" and script.startswith("/*", i):
            i = _block_comment_end(script, i)
        elif ch == "'":
            escaped = i > 0 and script[i - 1] in "eE" and (i < 2 or not script[i - 2].isalnum())
            i = _quote_end(script, i, "'", backslash=escaped)
        elif ch == '"':
            i = _quote_end(script, i, '"', backslash=False)
        elif ch == "$" and (match := _DOLLAR_TAG.match(script, i)) and not _in_identifier(script, i):
            close = script.find(match.group(0), match.end())
            i = n if close < 0 else close + len(match.group(0))
        elif ch == ";":
            statements.append(script[start:i])
            i += 1
            start = i
        else:
            i += 1
    statements.append(script[start:])
    return [s.strip() for s in statements if _has_code(s)]


def _in_identifier(script: str, i: int) -> bool:
    """``$`` inside an identifier (``a$b``) or a positional parameter (``$1``) is not a dollar quote."""
    return i > 0 and (script[i - 1].isalnum() or script[i - 1] == "_")


def _line_end(script: str, i: int) -> int:
    end = script.find("\n", i)
    return len(script) if end < 0 else end + 1


def _block_comment_end(script: str, i: int) -> int:
    depth, i = 1, i + 2
    while i < len(script) and depth:
        if script.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif script.startswith("*/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    return i


def _quote_end(script: str, i: int, quote: str, *, backslash: bool) -> int:
    i += 1
    while i < len(script):
        if backslash and script[i] == "\\":
            i += 2
        elif script[i] == quote:
            if script.startswith(quote * 2, i):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return i


def _has_code(statement: str) -> bool:
    """False for a fragment of only white space and comments."""
    stripped = re.sub(r"--[^\n]*", "", statement)
    stripped = re.sub(r"/\*.*?\*/", "", stripped, flags=re.S)
    return bool(stripped.strip())
