"""What a cached ``/health`` costs: ``run_sync()`` / ``run()`` with five cached checks.

Baselines measured in the same run: calling the five check functions directly
(sync), and driving an empty coroutine through the same event loop (async).
"""

from __future__ import annotations

import asyncio

from benchmarks._timing import per_call, table
from otel_agentkit.health import CheckResult, HealthRegistry

CHECKS = 5


def _registry() -> tuple[HealthRegistry, list[object]]:
    health = HealthRegistry(default_ttl=3600.0)
    fns = []
    for i in range(CHECKS):

        def check(i: int = i) -> CheckResult:
            return CheckResult.ok(f"check {i}")

        health.add(f"c{i}", check)
        fns.append(check)
    health.run_sync()  # fill the cache
    return health, fns


def main() -> None:
    health, fns = _registry()

    def direct() -> None:
        for fn in fns:
            fn()  # type: ignore[operator]

    base_sync = per_call(direct, number=5000)
    cached_sync = per_call(health.run_sync, number=5000)
    report = health.run_sync()
    to_dict = per_call(report.to_dict, number=5000)

    loop = asyncio.new_event_loop()

    async def empty() -> None:
        return None

    try:
        base_async = per_call(lambda: loop.run_until_complete(empty()), number=2000)
        cached_async = per_call(lambda: loop.run_until_complete(health.run()), number=2000)
    finally:
        loop.close()

    rows = [
        ("5 check functions called directly (baseline)", f"{base_sync * 1e6:.2f}", "1.0x"),
        (
            "run_sync(), 5 cached checks",
            f"{cached_sync * 1e6:.2f}",
            f"{cached_sync / base_sync:.1f}x",
        ),
        ("report.to_dict()", f"{to_dict * 1e6:.2f}", f"{to_dict / base_sync:.1f}x"),
        ("empty coroutine on the loop (async baseline)", f"{base_async * 1e6:.2f}", "1.0x"),
        (
            "await run(), 5 cached checks",
            f"{cached_async * 1e6:.2f}",
            f"{cached_async / base_async:.1f}x",
        ),
    ]
    print(table("Health checks: cached report", ["case", "µs/call", "vs baseline"], rows))


if __name__ == "__main__":
    main()
