"""The Ollama benchmark runs every configuration and leaves the client unpatched."""

from __future__ import annotations

import ollama

from benchmarks import bench_ollama


def test_benchmark_measures_all_configurations_and_unpatches() -> None:
    original = vars(ollama.Client)["chat"]
    results = bench_ollama.run(rounds=1, calls=3, streams=1)
    assert set(results) == {"none", "sdk-floor", "agentkit"}
    for measured in results.values():
        assert set(measured) == {"chat", "stream"}
        assert all(seconds > 0 for seconds in measured.values())
    assert vars(ollama.Client)["chat"] is original
