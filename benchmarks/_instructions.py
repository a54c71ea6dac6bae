"""Instruction counts under valgrind's callgrind: overhead that a busy machine cannot move.

Wall-clock timings on a shared 2-core machine move by tens of percent between
runs (other processes, frequency scaling). Instructions executed by the
interpreter do not: the same code on the same inputs retires the same count,
whatever else the machine is doing. The benchmarks report both.

How a region is measured: the child process runs each measured region inside a
ctypes callback, which CPython enters through ``_CallPythonObject`` (a C
function nothing else in these benchmarks calls). Callgrind is told to collect
only inside that function (``--toggle-collect``), to zero its counters on entry
and to write a profile part on exit, so each region leaves one file whose
``totals:`` line is that region's instruction count. Everything outside the
regions (interpreter start-up, imports, warm-up) runs uncounted.

The child side (:func:`region`) imports only ``ctypes``, so a region that
measures an import (``benchmarks/bench_import.py``) is not flattered by modules
this helper loaded first; the parent side imports what it needs when called.
"""

from __future__ import annotations

import ctypes
import os

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing loads re, enum, ...
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

#: The C function every ctypes callback enters through; regions run inside it.
_REGION_FUNCTION = "_CallPythonObject"
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int)
_TOTALS = rb"^totals:\s+(\d+)"

#: The environment variable that tells a child it runs under callgrind.
UNDER_CALLGRIND = "AGENTKIT_BENCH_CALLGRIND"


def available() -> str | None:
    """Why instruction counts cannot be taken here, or None when valgrind is installed."""
    import shutil

    if shutil.which("valgrind") is None:
        return "valgrind not found (Debian: apt-get install valgrind)"
    return None


def region(fn: Callable[[], object], number: int) -> None:
    """Run ``fn`` ``number`` times as one counted region (in the child process)."""

    def body() -> int:
        for _ in range(number):
            fn()
        return 0

    # Called through a ctypes function pointer so the interpreter enters the
    # callback through _CallPythonObject: collection is on exactly for this loop.
    callback = _CALLBACK(body)
    ctypes.cast(callback, _CALLBACK)()


def run(
    python: str,
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    regions: bool = True,
) -> tuple[list[int], str]:
    """Run ``python argv`` under callgrind; the instruction count of each region, in order.

    With ``regions=False`` the whole process is counted instead (interpreter
    start-up and imports included): one count, from its first instruction to
    its exit. Returns the counts and the child's stdout (where it says which
    region was which).
    """
    import re
    import subprocess
    import tempfile
    from pathlib import Path

    totals = re.compile(_TOTALS, re.MULTILINE)
    toggles = [
        "--collect-atstart=no",
        f"--toggle-collect={_REGION_FUNCTION}",
        f"--zero-before={_REGION_FUNCTION}",
        f"--dump-after={_REGION_FUNCTION}",
    ]
    with tempfile.TemporaryDirectory(prefix="agentkit-callgrind-") as tmp:
        out = Path(tmp) / "cg.out"
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                *(toggles if regions else []),
                f"--callgrind-out-file={out}",
                python,
                *argv,
            ],
            capture_output=True,
            text=True,
            cwd=cwd,
            env={**env, UNDER_CALLGRIND: "1", "PYTHONHASHSEED": "0"},
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"callgrind run failed:\n{done.stderr[-2000:]}")
        # Regions: one part file each (cg.out.1, ...); the whole process: cg.out.
        parts = (
            sorted(
                (p for p in Path(tmp).iterdir() if re.fullmatch(r"cg\.out\.\d+", p.name)),
                key=lambda p: int(p.name.rsplit(".", 1)[1]),
            )
            if regions
            else [out]
        )
        counts = []
        for part in parts:
            match = totals.search(part.read_bytes())
            counts.append(int(match.group(1)) if match else 0)
    return counts, done.stdout


def labelled(counts: Sequence[int], stdout: str) -> dict[str, int]:
    """Pair region counts with the labels the child printed (its last stdout line, JSON)."""
    import json

    labels: list[str] = json.loads(stdout.strip().splitlines()[-1])
    if len(labels) != len(counts):
        raise RuntimeError(f"{len(labels)} regions labelled but {len(counts)} counted")
    result: dict[str, int] = {}
    for label, count in zip(labels, counts, strict=True):
        # Several rounds of the same label: keep the smallest (one-off cache fills).
        result[label] = min(count, result.get(label, count))
    return result


def child_env() -> dict[str, str]:
    """The parent's environment without OTEL_* settings (each child configures its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
