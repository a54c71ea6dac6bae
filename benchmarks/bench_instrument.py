"""Start-up cost of ``agentkit.instrument()``, and of importing a library after it.

Each case is a fresh interpreter running one line, so start-up and imports
are what is measured:

* ``bare interpreter``: ``python -c pass``, the baseline every ratio is against;
* ``import otel_agentkit``;
* ``instrument(), nothing imported``: ``import otel_agentkit; instrument()``
  with every optional library installed and none imported by the program
  (the lazy path: nothing is imported, a post-import hook waits per library);
* ``import openai`` alone, and ``instrument(), then import openai``: the
  difference between the two is what wrapping on import adds to the import.

Two measures: instructions executed by the whole process under callgrind
(:mod:`benchmarks._instructions`, load-independent) when valgrind is
installed, and wall-clock time (interleaved rounds, best kept), which moves
with the load on a shared machine. The wall-clock table also shows importing
all five libraries, which is what ``instrument()`` cost before it waited for
the program's imports (too slow to run under callgrind).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("openai", "anthropic", "ollama", "chromadb", "qdrant_client")
INSTRUMENT = "import otel_agentkit as agentkit; agentkit.instrument()"

#: Label -> the one line the fresh interpreter runs.
CASES = {
    "bare interpreter": "pass",
    "import otel_agentkit": "import otel_agentkit",
    "instrument(), nothing imported": INSTRUMENT,
    "import openai": "import openai",
    "instrument(), then import openai": f"{INSTRUMENT}; import openai",
}
#: Wall clock only: every library imported (what an eager instrument() did).
EAGER = {f"import all {len(LIBRARIES)} libraries": "import " + ", ".join(LIBRARIES)}
#: Rounds of wall-clock runs (each round runs every case once).
ROUNDS = 15
EAGER_ROUNDS = 3


def _env() -> dict[str, str]:
    """The child environment; bytecode is written, as after any ``pip install``."""
    from benchmarks import _instructions

    env = _instructions.child_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _warm_up() -> None:
    """Run every case once, so no measured run pays for compiling bytecode."""
    for code in (*CASES.values(), *EAGER.values()):
        subprocess.run([sys.executable, "-c", code], env=_env(), check=True)


def _check_lazy() -> None:
    """Fail loudly if instrument() imported a library: the numbers would mean nothing."""
    code = f"{INSTRUMENT}; import sys; print([m for m in {LIBRARIES!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    ).stdout.strip()
    if out != "[]":
        raise RuntimeError(f"instrument() imported {out}")


def _wall(cases: dict[str, str], rounds: int) -> dict[str, float]:
    """Best wall-clock seconds of each case over ``rounds`` interleaved rounds."""
    best = dict.fromkeys(cases, float("inf"))
    env = _env()
    for _ in range(rounds):
        for label, code in cases.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, check=True)
            best[label] = min(best[label], time.perf_counter() - start)
    return best


def _count(cases: dict[str, str]) -> dict[str, int]:
    from benchmarks import _instructions

    counts = {}
    for label, code in cases.items():
        (count,), _ = _instructions.run(
            sys.executable, ["-c", code], cwd=ROOT, env=_env(), regions=False
        )
        counts[label] = count
    return counts


def _rows(values: dict[str, float], fmt: str) -> list[list[str]]:
    base = values["bare interpreter"]
    rows = [[label, fmt.format(value), f"{value / base:.1f}x"] for label, value in values.items()]
    wrapped = values["instrument(), then import openai"] - values["instrument(), nothing imported"]
    plain = values["import openai"] - base
    rows.append(
        [
            "importing openai after instrument(), against importing it alone",
            fmt.format(wrapped - plain) + " more",
            f"{wrapped / plain:.3f}x",
        ]
    )
    return rows


def main() -> None:
    """Print the start-up tables (ratios against a bare interpreter in the same run)."""
    from benchmarks import _instructions
    from benchmarks._timing import table

    _check_lazy()
    _warm_up()
    missing = _instructions.available()
    if missing:
        print(f"(instruction counts skipped: {missing})\n")
    else:
        counted = {k: float(v) for k, v in _count(CASES).items()}
        print(
            table(
                "instrument(): instructions executed by the whole process "
                "(callgrind; load-independent)",
                ["process", "instructions", "vs bare interpreter"],
                _rows(counted, "{:,.0f}"),
            )
        )
    wall = _wall(CASES, ROUNDS)
    eager = _wall(EAGER, EAGER_ROUNDS)
    rows = _rows({k: v * 1e3 for k, v in wall.items()}, "{:.1f} ms")
    base = wall["bare interpreter"]
    rows += [[label, f"{v * 1e3:.0f} ms", f"{v / base:.1f}x"] for label, v in eager.items()]
    print(
        table(
            f"instrument(): wall clock, best of {ROUNDS} runs "
            f"({EAGER_ROUNDS} for all libraries; noisy on a busy machine)",
            ["process", "time", "vs bare interpreter"],
            rows,
        )
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
