"""Shared helpers for the decorator tests: build each kind of callable, drive it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any

FLAVORS = ("sync", "async", "generator", "async_generator")


class Errors:
    """Namespace so the exception's qualified name differs from its plain name."""

    class Boom(Exception):  # noqa: N818
        pass


def make_callable(flavor: str, *, fail: bool, raised: list[BaseException]) -> Callable[..., Any]:
    """A plain function of ``x`` in the given flavor, producing ``[x, x]``.

    With ``fail`` it raises :class:`Errors.Boom` (generators after the first
    item, so the failure happens mid-iteration) and stores the instance in
    ``raised``.
    """

    def boom(x: Any) -> BaseException:
        exc = Errors.Boom(f"bad {x}")
        raised.append(exc)
        return exc

    if flavor == "sync":

        def work(x: Any) -> list[Any]:
            if fail:
                raise boom(x)
            return [x, x]

        return work
    if flavor == "async":

        async def work_async(x: Any) -> list[Any]:
            await asyncio.sleep(0)
            if fail:
                raise boom(x)
            return [x, x]

        return work_async
    if flavor == "generator":

        def work_gen(x: Any) -> Iterator[Any]:
            yield x
            if fail:
                raise boom(x)
            yield x

        return work_gen
    if flavor == "async_generator":

        async def work_agen(x: Any) -> AsyncIterator[Any]:
            yield x
            await asyncio.sleep(0)
            if fail:
                raise boom(x)
            yield x

        return work_agen
    raise AssertionError(flavor)


def drive(flavor: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` to completion in the current context; generators are exhausted to a list."""
    if flavor == "sync":
        return fn(*args, **kwargs)
    if flavor == "async":
        return asyncio.run(fn(*args, **kwargs))
    if flavor == "generator":
        return list(fn(*args, **kwargs))

    async def collect() -> list[Any]:
        return [item async for item in fn(*args, **kwargs)]

    return asyncio.run(collect())


def last_frame_name(tb: TracebackType | None) -> str:
    """Name of the function in the innermost frame of a traceback."""
    assert tb is not None
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_name
