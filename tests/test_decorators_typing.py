"""Static typing: mypy sees each decorated callable with its original signature."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import IN_CI

SNIPPET = textwrap.dedent(
    """
    from collections.abc import AsyncIterator, Iterator

    from otel_agentkit.decorators import (
        traced_agent, traced_guardrail, traced_retrieval, traced_tool, traced_workflow,
    )

    @traced_tool
    def bare(x: int, *, y: str = "") -> float:
        return 1.0

    @traced_tool(name="b", capture_content=True)
    async def with_args(x: int) -> str:
        return ""

    @traced_retrieval("kb")
    def gen(q: str) -> Iterator[str]:
        yield q

    @traced_agent
    async def agen(q: str) -> AsyncIterator[int]:
        yield 1

    class K:
        @traced_workflow
        def method(self, x: int) -> int:
            return x

        @traced_guardrail
        @classmethod
        def cm(cls, x: int) -> int:
            return x

        @traced_tool
        @staticmethod
        def sm(x: int) -> bytes:
            return b""

    reveal_type(bare)
    reveal_type(with_args)
    reveal_type(gen)
    reveal_type(agen)
    reveal_type(K().method)
    reveal_type(K.cm)
    reveal_type(K.sm)
    bare("not an int")
    """
)

EXPECTED_REVEALS = [
    "def (x: int, *, y: str =) -> float",
    "def (x: int) -> typing.Coroutine[Any, Any, str]",
    "def (q: str) -> typing.Iterator[str]",
    "def (q: str) -> typing.AsyncIterator[int]",
    "def (x: int) -> int",
    "def (x: int) -> int",
    "def (x: int) -> bytes",
]


def test_mypy_sees_original_signatures(tmp_path: Path) -> None:
    try:
        from mypy import api
    except ImportError:
        if IN_CI:
            pytest.fail("mypy is required under CI=true (dependency group 'test')")
        pytest.skip("mypy is not installed")
    source = tmp_path / "typed_usage.py"
    source.write_text(SNIPPET)
    stdout, stderr, _status = api.run(
        ["--strict", "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", str(source)]
    )
    reveals = [
        line.split('Revealed type is "', 1)[1].rstrip('"')
        for line in stdout.splitlines()
        if "Revealed type is" in line
    ]
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert reveals == EXPECTED_REVEALS, stdout + stderr
    assert len(errors) == 1, stdout
    assert 'Argument 1 to "bare" has incompatible type "str"; expected "int"' in errors[0]
