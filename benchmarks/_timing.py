"""Small timing helpers shared by the benchmark modules."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence


def per_call(fn: Callable[[], object], *, number: int = 20_000, repeat: int = 5) -> float:
    """Seconds per call of ``fn``: the best of ``repeat`` runs of ``number`` calls.

    The minimum is the least noisy estimate on a shared machine.
    """
    for _ in range(min(number, 1000)):  # warm up caches and lazy imports
        fn()
    best = float("inf")
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            best = min(best, (time.perf_counter() - start) / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    return best


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Render a Markdown table (printed by the bench session, pasted into docs/)."""
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines.extend("| " + " | ".join(str(c) for c in row) + " |" for row in rows)
    return "\n".join(lines) + "\n"
