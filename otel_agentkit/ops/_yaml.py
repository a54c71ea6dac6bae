"""A small, deterministic YAML writer for the generated config files.

PyYAML is not a runtime dependency, and the generated files only hold
mappings, lists, strings, numbers and booleans. Strings that could be read as
anything else are written double-quoted (JSON escaping is valid YAML).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./@-]*$")
_RESERVED = frozenset(
    {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"},
)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        if _PLAIN.match(value) and value.lower() not in _RESERVED:
            return value
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _is_block(value: Any) -> bool:
    """Multi-line text that reads back identically as a ``|`` literal block."""
    return (
        isinstance(value, str)
        and "\n" in value.rstrip("\n")
        and not value.endswith("\n\n")
        and not value[:1].isspace()
        and "\t" not in value
        and "\r" not in value
    )


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"YAML mapping keys must be strings, got {key!r}")
    return _scalar(key)


def _is_collection(value: Any) -> bool:
    return isinstance(value, Mapping) or (
        isinstance(value, Sequence) and not isinstance(value, str)
    )


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, Mapping):
        if not value:
            return [pad + "{}"]
        for key, item in value.items():
            if _is_collection(item) and item:
                out.append(f"{pad}{_key(key)}:")
                child_indent = indent if isinstance(item, Sequence) else indent + 2
                out.extend(_lines(item, child_indent))
            elif _is_collection(item):
                out.append(f"{pad}{_key(key)}: {'{}' if isinstance(item, Mapping) else '[]'}")
            elif _is_block(item):
                out.append(f"{pad}{_key(key)}: |{'' if item.endswith(chr(10)) else '-'}")
                out.extend(
                    f"{pad}  {line}" if line else "" for line in item.rstrip("\n").split("\n")
                )
            else:
                out.append(f"{pad}{_key(key)}: {_scalar(item)}")
        return out
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            return [pad + "[]"]
        for item in value:
            if _is_collection(item) and item:
                child = _lines(item, indent + 2)
                out.append(f"{pad}- {child[0].lstrip()}")
                out.extend(child[1:])
            else:
                out.append(f"{pad}- {_lines(item, 0)[0]}")
        return out
    return [pad + _scalar(value)]


def dump(value: Any, *, header: str = "") -> str:
    """Render ``value`` as YAML text, with ``header`` lines as ``#`` comments on top."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    lines.extend(_lines(value, 0))
    return "\n".join(lines) + "\n"


def dump_all(documents: Sequence[Any], *, header: str = "") -> str:
    """Render several YAML documents separated by ``---``."""
    head = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return head + "---\n".join(dump(doc) for doc in documents)
