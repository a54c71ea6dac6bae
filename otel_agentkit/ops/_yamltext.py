"""YAML text of the generated files: PyYAML's safe dumper under a ``#`` comment header."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def dump(*documents: Any, header: str = "") -> str:
    """``documents`` as YAML (``---`` between several), with ``header`` lines as comments.

    Keys keep their order, block style throughout, no line wrapping, Unicode as is.
    """
    import yaml  # the ops code path's own dependency: ``import otel_agentkit`` does not need it

    head = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    body: str = yaml.safe_dump_all(
        documents,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=2**31 - 1,
        explicit_start=len(documents) > 1,
    )
    return head + body


def dump_all(documents: Sequence[Any], *, header: str = "") -> str:
    """Several documents in one file (Kubernetes manifests)."""
    return dump(*documents, header=header)
