"""Mutation run: break the code on purpose, one change at a time, and check the tests notice.

Each mutant is one textual change of a kind that has slipped past the suite
before (flip a condition, drop an attribute, swap token types, change a
bucket, remove a redaction pattern, break an environment precedence rule,
...). The script copies the working tree to a scratch directory, checks that
the tests pass there unchanged, then applies each mutant alone and runs the
tests that cover the changed module. A mutant is *killed* when they fail.

Those tests are part of ``./scripts/test.sh``, so a mutant they kill the whole
suite kills too: the score is a lower bound for the full suite (``--full``
runs the full suite per mutant instead, at about three minutes each).

    .nox/tests/bin/python scripts/mutate.py              # every mutant
    .nox/tests/bin/python scripts/mutate.py -k bucket    # those whose name has "bucket"
    .nox/tests/bin/python scripts/mutate.py --list

Run it with the test environment's interpreter (``scripts/test.sh`` makes it).
Exits 1 when fewer than ``--min-score`` percent (default 95) are killed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    """One change: ``old`` (found exactly once in ``path``) becomes ``new``."""

    name: str
    kind: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


SETTINGS = "otel_agentkit/telemetry/settings.py"
SETTINGS_TESTS = ("tests/test_settings.py", "tests/test_settings_spec.py")
SEMCONV = "otel_agentkit/semconv.py"
SEMCONV_TESTS = ("tests/test_semconv.py", "tests/test_semconv_published.py")
GENAI = "otel_agentkit/instrumentation/_genai.py"
LLM_TESTS = (
    "tests/test_llm_stream_timing.py",
    "tests/test_openai.py",
    "tests/test_openai_streams.py",
    "tests/test_anthropic.py",
)
CONTENT_TESTS = ("tests/test_content.py",)

MUTANTS: tuple[Mutant, ...] = (
    # -- environment precedence and parsing ---------------------------------------------------
    Mutant(
        "empty variable counts as set",
        "env precedence",
        SETTINGS,
        "    value = value.strip()\n    return value or None",
        "    return value",
        SETTINGS_TESTS,
    ),
    Mutant(
        "per-signal endpoint ignored",
        "env precedence",
        SETTINGS,
        '(signal_env := _env(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT", environ))',
        '(signal_env := _env(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINTS", environ))',
        SETTINGS_TESTS,
    ),
    Mutant(
        "generic headers beat per-signal headers",
        "env precedence",
        SETTINGS,
        'None, "", environ, f"OTEL_EXPORTER_OTLP_{upper}_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"',
        'None, "", environ, "OTEL_EXPORTER_OTLP_HEADERS", f"OTEL_EXPORTER_OTLP_{upper}_HEADERS"',
        SETTINGS_TESTS,
    ),
    Mutant(
        "headers merged instead of replaced",
        "env precedence",
        SETTINGS,
        "        resolved_headers = {key.lower(): value for key, value in parsed.items()}",
        "        resolved_headers = {key.lower(): value for key, value in parsed.items()}\n"
        "        if headers_setting != 'OTEL_EXPORTER_OTLP_HEADERS':\n"
        "            resolved_headers = {**parse_key_values('x', "
        "environ.get('OTEL_EXPORTER_OTLP_HEADERS', '')), **resolved_headers}",
        SETTINGS_TESTS,
    ),
    Mutant(
        "generic timeout beats per-signal timeout",
        "env precedence",
        SETTINGS,
        'None, "", environ, f"OTEL_EXPORTER_OTLP_{upper}_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"',
        'None, "", environ, "OTEL_EXPORTER_OTLP_TIMEOUT", f"OTEL_EXPORTER_OTLP_{upper}_TIMEOUT"',
        SETTINGS_TESTS,
    ),
    Mutant(
        "OTLP timeout variable read as seconds",
        "env precedence",
        SETTINGS,
        "else _positive_float(timeout_setting, timeout_value, scale=0.001)",
        "else _positive_float(timeout_setting, timeout_value)",
        SETTINGS_TESTS,
    ),
    Mutant(
        "metric export interval read as seconds",
        "env precedence",
        SETTINGS,
        '_positive_float("OTEL_METRIC_EXPORT_INTERVAL", interval_env, scale=0.001)',
        '_positive_float("OTEL_METRIC_EXPORT_INTERVAL", interval_env)',
        SETTINGS_TESTS,
    ),
    Mutant(
        "service.name attribute beats OTEL_SERVICE_NAME",
        "env precedence",
        SETTINGS,
        "            or _env(env_name, env)\n            or env_attrs.get(key)",
        "            or env_attrs.get(key)\n            or _env(env_name, env)",
        SETTINGS_TESTS,
    ),
    Mutant(
        "generic protocol beats per-signal protocol",
        "env precedence",
        SETTINGS,
        '        f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL",\n        "OTEL_EXPORTER_OTLP_PROTOCOL",',
        '        "OTEL_EXPORTER_OTLP_PROTOCOL",\n        f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL",',
        SETTINGS_TESTS,
    ),
    Mutant(
        "generic compression beats per-signal compression",
        "env precedence",
        SETTINGS,
        '        f"OTEL_EXPORTER_OTLP_{upper}_COMPRESSION",\n'
        '        "OTEL_EXPORTER_OTLP_COMPRESSION",',
        '        "OTEL_EXPORTER_OTLP_COMPRESSION",\n'
        '        f"OTEL_EXPORTER_OTLP_{upper}_COMPRESSION",',
        SETTINGS_TESTS,
    ),
    Mutant(
        "otlp_timeout argument not checked",
        "flip a condition",
        SETTINGS,
        'timeout=None if timeout is None else _positive_float("otlp_timeout", timeout),',
        "timeout=None if timeout is None else timeout,  # type: ignore[arg-type]",
        SETTINGS_TESTS,
    ),
    Mutant(
        "zero accepted as a positive number",
        "flip a condition",
        SETTINGS,
        "if not math.isfinite(number) or number <= 0:",
        "if not math.isfinite(number) or number < 0:",
        SETTINGS_TESTS,
    ),
    Mutant(
        "entry-point exporters refused",
        "flip a condition",
        SETTINGS,
        "            registered = _entry_point_names(exporter_entry_points(signal))",
        "            registered = frozenset()",
        SETTINGS_TESTS,
    ),
    Mutant(
        "launcher gives up on a one-signal setting",
        "flip a condition",
        "otel_agentkit/telemetry/launcher.py",
        "if part is None or part in off:",
        "if part is not None or part in off:",
        ("tests/test_launcher.py",),
    ),
    # -- names and buckets ------------------------------------------------------------------------
    Mutant(
        "input tokens attribute renamed",
        "rename",
        SEMCONV,
        '"gen_ai.usage.input_tokens"',
        '"gen_ai.usage.input_token"',
        SEMCONV_TESTS,
    ),
    Mutant(
        "token usage metric renamed",
        "rename",
        SEMCONV,
        '"gen_ai.client.token.usage"',
        '"gen_ai.client.tokens.usage"',
        SEMCONV_TESTS,
    ),
    Mutant(
        "guardrail metric renamed",
        "rename",
        SEMCONV,
        '"agentkit.guardrail.violations"',
        '"agentkit.guardrail.violation"',
        SEMCONV_TESTS,
    ),
    Mutant(
        "output token type renamed",
        "swap token types",
        SEMCONV,
        'TOKEN_TYPE_OUTPUT: Final = "output"',
        'TOKEN_TYPE_OUTPUT: Final = "completion"',
        SEMCONV_TESTS,
    ),
    Mutant(
        "DB duration bucket changed",
        "change a bucket",
        SEMCONV,
        "0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,",
        "0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 10.0,",
        SEMCONV_TESTS,
    ),
    Mutant(
        "HTTP duration bucket changed",
        "change a bucket",
        SEMCONV,
        "0.005, 0.01, 0.025, 0.05, 0.075,",
        "0.005, 0.01, 0.02, 0.05, 0.075,",
        SEMCONV_TESTS,
    ),
    Mutant(
        "GenAI duration bucket changed",
        "change a bucket",
        SEMCONV,
        "10.24, 20.48, 40.96, 81.92,",
        "10.24, 20.48, 40.96, 80.0,",
        SEMCONV_TESTS,
    ),
    Mutant(
        "views lose their first bucket",
        "change a bucket",
        "otel_agentkit/telemetry/_setup.py",
        "ExplicitBucketHistogramAggregation(boundaries=list(spec.buckets))",
        "ExplicitBucketHistogramAggregation(boundaries=list(spec.buckets)[1:])",
        SEMCONV_TESTS,
    ),
    # -- what an LLM call records -----------------------------------------------------------------
    Mutant(
        "input and output token types swapped",
        "swap token types",
        GENAI,
        "                    input_tokens,\n"
        "                    {**points, semconv.GEN_AI_TOKEN_TYPE: semconv.TOKEN_TYPE_INPUT},",
        "                    input_tokens,\n"
        "                    {**points, semconv.GEN_AI_TOKEN_TYPE: semconv.TOKEN_TYPE_OUTPUT},",
        LLM_TESTS,
    ),
    Mutant(
        "time per chunk divided by n",
        "arithmetic",
        GENAI,
        "(last - first) / (chunks - 1)",
        "(last - first) / chunks",
        LLM_TESTS,
    ),
    Mutant(
        "time per chunk needs three chunks",
        "flip a condition",
        GENAI,
        "            if chunks > 1:",
        "            if chunks > 2:",
        LLM_TESTS,
    ),
    Mutant(
        "time to first chunk measured to the last",
        "arithmetic",
        GENAI,
        "to_first = first - self.started_at",
        "to_first = last - self.started_at",
        LLM_TESTS,
    ),
    Mutant(
        "reasoning tokens dropped",
        "drop an attribute",
        GENAI,
        "            (self.reasoning_tokens, semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),\n",
        "",
        LLM_TESTS,
    ),
    Mutant(
        "response model dropped",
        "drop an attribute",
        GENAI,
        "            attrs[semconv.GEN_AI_RESPONSE_MODEL] = self.model",
        "            pass",
        LLM_TESTS,
    ),
    Mutant(
        "in-band error type dropped",
        "drop an attribute",
        GENAI,
        "        if self.error_type:\n            attrs[semconv.ERROR_TYPE] = self.error_type",
        "        if self.error_type:\n            pass",
        LLM_TESTS,
    ),
    Mutant(
        "Anthropic timing ends at the stream's end",
        "drop an attribute",
        GENAI,
        "        now = self.last_chunk_at = time.perf_counter()",
        "        now = time.perf_counter()",
        LLM_TESTS,
    ),
    Mutant(
        "Responses stream error event ignored",
        "flip a condition",
        "otel_agentkit/instrumentation/openai/_calls.py",
        'elif kind == "error":',
        'elif kind == "errors":',
        (*LLM_TESTS, "tests/test_openai_responses.py"),
    ),
    Mutant(
        "chat reasoning tokens not read",
        "drop an attribute",
        "otel_agentkit/instrumentation/openai/_calls.py",
        'reasoning = get_field(details, "reasoning_tokens")',
        'reasoning = get_field(details, "reasoning_token")',
        (*LLM_TESTS, "tests/test_openai_responses.py"),
    ),
    Mutant(
        "cached tokens not read",
        "drop an attribute",
        "otel_agentkit/instrumentation/openai/_calls.py",
        'cached = get_field(details, "cached_tokens")',
        'cached = get_field(details, "cached_token")',
        (*LLM_TESTS, "tests/test_openai_responses.py"),
    ),
    Mutant(
        "returned rows dropped",
        "drop an attribute",
        "otel_agentkit/instrumentation/_vector.py",
        "self.span.set_attribute(semconv.DB_RESPONSE_RETURNED_ROWS, rows)",
        "pass",
        ("tests/test_chromadb.py", "tests/test_qdrant.py"),
    ),
    Mutant(
        "top_k dropped",
        "drop an attribute",
        "otel_agentkit/instrumentation/_vector.py",
        "            attributes[semconv.GEN_AI_REQUEST_TOP_K] = request.top_k",
        "            pass",
        ("tests/test_chromadb.py", "tests/test_qdrant.py"),
    ),
    # -- redaction ------------------------------------------------------------------------------
    Mutant(
        "AWS key pattern removed",
        "remove a redaction pattern",
        "otel_agentkit/_content.py",
        '    r"\\bAKIA[0-9A-Z]{16}\\b",  # AWS access key ids\n',
        "",
        CONTENT_TESTS,
    ),
    Mutant(
        "GitHub token pattern removed",
        "remove a redaction pattern",
        "otel_agentkit/_content.py",
        '    r"\\bgh[pousr]_[A-Za-z0-9]{20,}\\b",  # GitHub tokens\n',
        "",
        CONTENT_TESTS,
    ),
    Mutant(
        "bearer token pattern removed",
        "remove a redaction pattern",
        "otel_agentkit/_content.py",
        '{8,}=*",',  # the bearer token pattern: it never matches a real token after this
        '{8000,}=*",',
        CONTENT_TESTS,
    ),
    Mutant(
        "API key pattern removed",
        "remove a redaction pattern",
        "otel_agentkit/_content.py",
        '    r"\\bsk-(?:proj-|ant-)?[A-Za-z0-9_\\-]{16,}",  # OpenAI / Anthropic style API keys\n',
        "",
        CONTENT_TESTS,
    ),
    # -- decorators, health, logs, ops ----------------------------------------------------------
    Mutant(
        "GeneratorExit recorded as an error",
        "flip a condition",
        "otel_agentkit/decorators.py",
        "if isinstance(exc, GeneratorExit):  # the consumer stopped early: not an error",
        "if isinstance(exc, KeyboardInterrupt):",
        ("tests/test_decorators_generators.py", "tests/test_decorators.py"),
    ),
    Mutant(
        "context-manager span fails on success",
        "flip a condition",
        "otel_agentkit/decorators.py",
        "        if exc is None:\n            self._op.succeed(",
        "        if exc is not None:\n            self._op.succeed(",
        ("tests/test_decorators_generators.py", "tests/test_decorators.py"),
    ),
    Mutant(
        "sync health wait one second too long",
        "arithmetic",
        "otel_agentkit/health/_core.py",
        "return flight.future.result(timeout=flight.remaining())",
        "return flight.future.result(timeout=flight.remaining() + 1)",
        ("tests/test_health.py",),
    ),
    Mutant(
        "health deadline doubled",
        "arithmetic",
        "otel_agentkit/health/_core.py",
        "self.deadline = self.started + check.timeout",
        "self.deadline = self.started + 2 * check.timeout",
        ("tests/test_health.py",),
    ),
    Mutant(
        "httpx2 not quieted",
        "drop an attribute",
        "otel_agentkit/logs.py",
        '    "httpx2",  # openai 3.x and anthropic 2.x send through it\n',
        "",
        ("tests/test_logs_transports.py", "tests/test_logs.py"),
    ),
    Mutant(
        "error share of 100 % accepted",
        "flip a condition",
        "otel_agentkit/ops/alerts.py",
        "if not 0 <= value < 1:",
        "if not 0 <= value <= 1:",
        ("tests/test_cli.py",),
    ),
    Mutant(
        "negative minutes accepted",
        "flip a condition",
        "otel_agentkit/ops/alerts.py",
        "if not isinstance(value, int) or value < least:",
        "if not isinstance(value, int) or value < least - 1:",
        ("tests/test_cli.py",),
    ),
    Mutant(
        "dashboard error share off by ten",
        "arithmetic",
        "otel_agentkit/ops/dashboards.py",
        'return f"100 * (sum by ({group})',
        'return f"10 * (sum by ({group})',
        ("tests/ops/test_dashboard_values.py",),
    ),
    Mutant(
        "HTTP status class off by one",
        "arithmetic",
        "otel_agentkit/web/_common.py",
        "    if 100 <= status <= 599:",
        "    if 100 <= status < 599:",
        ("tests/test_web_common.py",),
    ),
)


def _copy_tree(destination: Path) -> None:
    """The files git knows (tracked and untracked, not ignored), as they are now."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        source = ROOT / raw.decode()
        if source.is_file():
            target = destination / raw.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    shared = ROOT.parent / "shared"  # the cassettes, found as ../shared
    if shared.is_dir() and not (destination.parent / "shared").exists():
        (destination.parent / "shared").symlink_to(shared)


def _run_tests(tree: Path, tests: tuple[str, ...], full: bool, timeout: float) -> tuple[int, float]:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    targets = [] if full else list(tests)
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", *targets]
    start = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=tree, env=env, capture_output=True, timeout=timeout, check=False
        )
        code = done.returncode
    except subprocess.TimeoutExpired:
        code = -1
    return code, time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    """Run the mutants; print one line each and the score."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only mutants whose name contains this")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--full", action="store_true", help="run the whole suite per mutant")
    parser.add_argument("--min-score", type=float, default=95.0, help="percent killed to pass")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per test run")
    args = parser.parse_args(argv)

    mutants = [m for m in MUTANTS if args.k.lower() in m.name.lower()]
    if args.list:
        for m in mutants:
            print(f"{m.kind:28} {m.name}  ({m.path})")
        return 0

    with tempfile.TemporaryDirectory(prefix="agentkit-mutate-") as scratch:
        tree = Path(scratch) / "tree"
        tree.mkdir()
        _copy_tree(tree)
        for m in mutants:  # every mutant applies to the code as it is
            count = (tree / m.path).read_text(encoding="utf-8").count(m.old)
            if count != 1:
                print(f"mutate: {m.name!r}: found {count} times in {m.path}", file=sys.stderr)
                return 2
        every_test = tuple(sorted({t for m in mutants for t in m.tests}))
        code, took = _run_tests(tree, every_test, args.full, args.timeout)
        if code != 0:
            print(f"mutate: the tests fail without any mutant (exit {code})", file=sys.stderr)
            return 2
        print(f"baseline: the tests pass unchanged ({took:.0f} s)")

        survivors = []
        for m in mutants:
            path = tree / m.path
            original = path.read_text(encoding="utf-8")
            path.write_text(original.replace(m.old, m.new), encoding="utf-8")
            try:
                code, took = _run_tests(tree, m.tests, args.full, args.timeout)
            finally:
                path.write_text(original, encoding="utf-8")
            verdict = "killed" if code != 0 else "SURVIVED"
            if code == 0:
                survivors.append(m)
            print(f"{verdict:8} {took:5.0f} s  {m.kind:26} {m.name}", flush=True)

    killed = len(mutants) - len(survivors)
    score = 100.0 * killed / len(mutants) if mutants else 100.0
    print(f"\n{killed} of {len(mutants)} mutants killed ({score:.1f} %)")
    for m in survivors:
        print(f"  survived: {m.name} ({m.path})")
    return 0 if score >= args.min_score else 1


if __name__ == "__main__":
    sys.exit(main())
