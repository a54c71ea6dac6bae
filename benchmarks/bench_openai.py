"""OpenAI instrumentation overhead: one chat call, and a 200-chunk stream.

Both go through the real openai client over an ``httpx.MockTransport`` that
answers at once, so what is measured is the client plus the instrumentation
(not a network). Each configuration runs in its own fresh process:

* ``none``: uninstrumented (the baseline);
* ``agentkit``: :class:`otel_agentkit.instrumentation.openai.OpenAIInstrumentor`;
* ``official``: ``opentelemetry-instrumentation-openai-v2``, run in a separate
  virtual environment this script creates with ``uv`` (reused between runs),
  where all configurations are measured side by side;
* ``sdk-floor``: not an instrumentation but the floor under any of them: a bare
  wrapper that does only the OpenTelemetry SDK work the conventions require for
  a call (start one CLIENT span with the request attributes and make it
  current, add the response attributes, record the duration and the two
  token-usage histogram points with the span's context, end the span) with
  constant attribute dicts and no reading of the request or the response. For
  a stream it also records the two chunk-timing histograms at the end;
* ``agentkit+content``, ``official+content``: the same two instrumentations
  with message content captured on the span
  (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY`` while the
  configuration is instrumented and measured): input and output messages as
  JSON attributes in the conventions' parts format.

Tracing and metrics go to real SDK providers (spans dropped at end by a
processor that does nothing, metrics into an in-memory reader), the same for
every configuration. Overheads are reported per call and per chunk, and as a
ratio to the baseline measured in the same run.

Two measures: wall-clock time (interleaved rounds, best kept), and, when
valgrind is installed, instructions executed under callgrind
(:mod:`benchmarks._instructions`), which the load on the machine does not
move (memory layout still moves a stream's by ~0.2%: see docs/openai.md);
the comparison with openai-v2 is read off the second.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STREAM_CHUNKS = 200
#: A mode name ending in this runs that instrumentation with content capture on (span only).
WITH_CONTENT = "+content"
_CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
SIDE_ENV = Path(tempfile.gettempdir()) / "otel-agentkit-bench-openai-v2"
SIDE_REQUIREMENTS = [
    "openai",
    "httpx",
    "opentelemetry-instrumentation-openai-v2",
    # openai-v2 2.4b0 imports opentelemetry.util.genai.instruments, gone in util-genai 1.2.
    "opentelemetry-util-genai<1.2",
]

_COMPLETION = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1,
    "model": "bench-model-1",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello there.", "refusal": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
}


def _stream_body() -> bytes:
    chunks = []
    for i in range(STREAM_CHUNKS):
        chunks.append(
            {
                "id": "chatcmpl-bench",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "bench-model-1",
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": f"w{i} "},
                        "finish_reason": "stop" if i == STREAM_CHUNKS - 1 else None,
                    }
                ],
            }
        )
    chunks.append(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "bench-model-1",
            "choices": [],
            "usage": {"prompt_tokens": 12, "completion_tokens": 200, "total_tokens": 212},
        }
    )
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return text.encode()


def _setup(modes: list[str]) -> tuple[dict[str, Any], dict[str, Any], Any, Any]:
    """Providers, instrumentors by mode, and the two measured operations (chat, stream)."""
    sys.path.insert(0, str(ROOT))
    import httpx
    import openai
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SpanProcessor())  # spans are built, then dropped
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    providers: dict[str, Any] = {
        "tracer_provider": tracer_provider,
        "meter_provider": meter_provider,
    }
    instrumentors: dict[str, Any] = {}
    for mode in modes:
        # "agentkit" and "agentkit+content" share the one (singleton) instrumentor.
        kind = mode.removesuffix(WITH_CONTENT)
        if kind == "agentkit":
            from otel_agentkit.instrumentation.openai import OpenAIInstrumentor

            instrumentors[mode] = OpenAIInstrumentor()
        elif kind == "official":
            from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor as Official

            instrumentors[mode] = Official()
        elif kind == "sdk-floor":
            instrumentors[mode] = _SdkFloor()

    completion = json.dumps(_COMPLETION).encode()
    stream = _stream_body()

    def handler(request: httpx.Request) -> httpx.Response:
        if b'"stream":true' in request.content or b'"stream": true' in request.content:
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=stream
            )
        return httpx.Response(200, headers={"content-type": "application/json"}, content=completion)

    client = openai.OpenAI(
        api_key="sk-bench",
        base_url="http://127.0.0.1:8000/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        max_retries=0,
    )
    messages = [{"role": "user", "content": "Say hello."}]

    def chat() -> None:
        client.chat.completions.create(model="bench-model", messages=messages)

    def streamed() -> None:
        for _ in client.chat.completions.create(
            model="bench-model",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        ):
            pass

    return providers, instrumentors, chat, streamed


def worker(modes: list[str], rounds: int = 9) -> dict[str, dict[str, float]]:
    """Measure the configurations in this process, interleaved round by round.

    Each round instruments one configuration, times it, and uninstruments it
    again, for every configuration in turn; the best round of each is kept. On
    a shared machine, interleaving keeps slow phases from landing on one side.
    Returns seconds per chat call and per whole stream.
    """
    import time

    providers, instrumentors, chat, streamed = _setup(modes)

    def timed(fn: Any, number: int) -> float:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - start) / number

    best = {mode: {"chat": float("inf"), "stream": float("inf")} for mode in modes}
    for _ in range(50):  # warm up imports, pools, caches
        chat()
        streamed()

    def measure(mode: str) -> None:
        chat()
        streamed()
        best[mode]["chat"] = min(best[mode]["chat"], timed(chat, 300))
        best[mode]["stream"] = min(best[mode]["stream"], timed(streamed, 12))

    _interleaved(modes, instrumentors, providers, rounds, measure)
    return best


def _interleaved(
    modes: list[str],
    instrumentors: dict[str, Any],
    providers: dict[str, Any],
    rounds: int,
    measure: Any,
) -> None:
    """For each round, each mode in turn: instrument it, ``measure(mode)``, uninstrument it.

    A ``+content`` mode runs with the capture variable set to ``SPAN_ONLY`` from
    before ``instrument()`` (openai-v2 reads it there and at each call) until after
    ``uninstrument()``; every other mode runs with it unset.
    """
    gc.disable()
    try:
        for _ in range(rounds):
            for mode in modes:
                if mode.endswith(WITH_CONTENT):
                    os.environ[_CAPTURE_ENV] = "SPAN_ONLY"
                try:
                    if mode in instrumentors:
                        instrumentors[mode].instrument(**providers)
                    measure(mode)
                    if mode in instrumentors:
                        instrumentors[mode].uninstrument()
                finally:
                    os.environ.pop(_CAPTURE_ENV, None)
                gc.collect()
    finally:
        gc.enable()


#: Calls per counted region. Layout effects (below) move a region by up to ~0.3%,
#: whatever its length, so more calls per region would not steady them.
_COUNTED_CHATS = 20
_COUNTED_STREAMS = 2


def instructions_worker(modes: list[str], counted: str, rounds: int = 2) -> list[str]:
    """Run one configuration's chat calls and streams as counted callgrind regions.

    Every configuration is counted in a fresh process of its own (``counted``),
    set up with all of ``modes`` (the same imports and instrumentor objects in
    each), never after another configuration ran. Interleaving them in one
    process, as the wall-clock worker does, made the counts depend on the
    order: a stream's instructions depend on the allocator's state (pymalloc
    pools left half full by earlier work, each block freed into a full pool
    costs more) and on the type attribute cache (keyed by type version tags and
    name addresses), and an instrumentor's rounds, with span ids, wall-clock
    durations and exemplars that differ every run, left a different heap for
    the next configuration. The uninstrumented baseline moved by ~340k
    instructions per stream (1,700 per chunk) with what ran before it.

    Returns the region labels in the order they ran (``mode:chat``, ``mode:stream``);
    the parent pairs them with callgrind's counts.
    """
    from benchmarks import _instructions

    providers, instrumentors, chat, streamed = _setup(modes)
    for _ in range(3):  # warm up imports, pools, caches
        chat()
        streamed()
    labels: list[str] = []

    def measure(mode: str) -> None:
        for _ in range(2):  # this configuration's own first-call work
            chat()
            streamed()
        _instructions.region(chat, _COUNTED_CHATS)
        labels.append(f"{mode}:chat")
        _instructions.region(streamed, _COUNTED_STREAMS)
        labels.append(f"{mode}:stream")

    _interleaved([counted], instrumentors, providers, rounds, measure)
    return labels


class _SdkFloor:
    """The SDK work every GenAI instrumentation must do per call, and nothing else.

    Same attribute counts as a real chat span and metric points, built once;
    no request or response is read. Comparing an instrumentation against this
    row shows how much of its overhead is its own code.
    """

    def __init__(self, target: Any = None) -> None:
        """``target``: ``(class, method name)`` to wrap; by default openai's chat create."""
        self._target = target
        self._patched = False

    def _owner(self) -> tuple[Any, str]:
        if self._target is not None:
            return self._target  # type: ignore[no-any-return]
        from openai.resources.chat import completions

        return completions.Completions, "create"

    def instrument(self, **providers: Any) -> None:
        import time

        import wrapt
        from opentelemetry import context as otel_context
        from opentelemetry import trace

        sys.path.insert(0, str(ROOT))
        from otel_agentkit.instrumentation._base import GenAIInstruments

        tracer = providers["tracer_provider"].get_tracer("bench.sdk-floor")
        instruments = GenAIInstruments(providers["meter_provider"].get_meter("bench.sdk-floor"))
        start = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "bench-model",
            "server.address": "127.0.0.1",
            "server.port": 8000,
        }
        response = {
            "gen_ai.response.id": "chatcmpl-bench",
            "gen_ai.response.model": "bench-model-1",
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 3,
        }
        metric = {**start, "gen_ai.response.model": "bench-model-1"}
        metric_in = {**metric, "gen_ai.token.type": "input"}
        metric_out = {**metric, "gen_ai.token.type": "output"}

        def finish(span: Any, ctx: Any, started: float, chunks: bool) -> None:
            span.set_attributes(response)
            elapsed = time.perf_counter() - started
            instruments.duration.record(elapsed, metric, context=ctx)
            instruments.token_usage.record(12, metric_in, context=ctx)
            instruments.token_usage.record(3, metric_out, context=ctx)
            if chunks:
                instruments.time_to_first_chunk.record(elapsed, metric, context=ctx)
                instruments.time_per_output_chunk.record(elapsed, metric, context=ctx)
            span.end()

        def stream_of(result: Any, span: Any, ctx: Any, started: float) -> Any:
            yield from result
            finish(span, ctx, started, True)

        def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            span = tracer.start_span(
                "chat bench-model", kind=trace.SpanKind.CLIENT, attributes=start
            )
            ctx = trace.set_span_in_context(span)
            token = otel_context.attach(ctx)
            started = time.perf_counter()
            try:
                result = wrapped(*args, **kwargs)
            finally:
                otel_context.detach(token)
            if kwargs.get("stream"):
                return stream_of(result, span, ctx, started)
            finish(span, ctx, started, False)
            return result

        wrapt.wrap_function_wrapper(*self._owner(), wrapper)
        self._patched = True

    def uninstrument(self) -> None:
        from opentelemetry.instrumentation.utils import unwrap

        if self._patched:
            unwrap(*self._owner())
            self._patched = False


def isolated_chunk_cost() -> tuple[float, float]:
    """Seconds per chunk of iterating 200 parsed chunks plainly, and through our proxy.

    No client, no SSE parsing: just the proxy and its per-chunk accumulation
    (plus, amortised over the 200 chunks, the span and metrics of one stream).
    """
    from openai.types.chat import ChatCompletionChunk
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

    from benchmarks._timing import per_call
    from otel_agentkit._content import ContentCapture
    from otel_agentkit.instrumentation._base import TelemetryHandle
    from otel_agentkit.instrumentation._streams import SyncStreamProxy
    from otel_agentkit.instrumentation.openai._calls import Call, ChatStreamRecorder

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SpanProcessor())
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    handle = TelemetryHandle(tracer_provider=tracer_provider, meter_provider=meter_provider)
    payload = json.loads(_stream_body().decode().split("\n\n")[0][len("data: ") :])
    chunks = [ChatCompletionChunk.model_validate(payload) for _ in range(STREAM_CHUNKS)]
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "bench-model"}

    def plain() -> None:
        for _ in iter(chunks):
            pass

    def proxied() -> None:
        call = Call(handle, "chat", "bench-model", dict(attributes), ContentCapture.NO_CONTENT)
        for _ in SyncStreamProxy(iter(chunks), ChatStreamRecorder(call)):
            pass

    base = per_call(plain, number=300, repeat=7)
    ours = per_call(proxied, number=300, repeat=7)
    return base / STREAM_CHUNKS, ours / STREAM_CHUNKS


def _run_worker(python: str, modes: list[str]) -> dict[str, dict[str, float]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [python, str(Path(__file__).resolve()), "--worker", ",".join(modes)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{modes} worker failed:\n{done.stderr[-2000:]}")
    result: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _side_env() -> str | None:
    """Python of the side-by-side environment (openai-v2 installed), or None with a reason."""
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    python = SIDE_ENV / "bin" / "python"
    if python.exists():
        return str(python)
    if uv is None:
        print("(side-by-side with openai-v2 skipped: uv not found to build its environment)")
        return None
    try:
        subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(SIDE_ENV)], check=True)
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "-q",
                "--python",
                str(python),
                "-e",
                str(ROOT),
                *SIDE_REQUIREMENTS,
            ],
            check=True,
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"(side-by-side with openai-v2 skipped: building its environment failed: {exc})")
        shutil.rmtree(SIDE_ENV, ignore_errors=True)
        return None
    return str(python)


def _rows(results: dict[str, dict[str, float]]) -> list[list[str]]:
    base = results["none"]
    rows = []
    for mode, r in results.items():
        chat_over = r["chat"] - base["chat"]
        stream_over = r["stream"] - base["stream"]
        rows.append(
            [
                mode,
                f"{r['chat'] * 1e6:.1f}",
                "—"
                if mode == "none"
                else f"{chat_over * 1e6:+.1f} ({r['chat'] / base['chat']:.3f}x)",
                f"{r['stream'] * 1e6:.0f}",
                "—"
                if mode == "none"
                else f"{stream_over / STREAM_CHUNKS * 1e9:+.0f} ns "
                f"({r['stream'] / base['stream']:.3f}x)",
            ]
        )
    return rows


def _instructions_unavailable() -> str | None:
    from benchmarks import _instructions

    return _instructions.available()


def _count_instructions(python: str, modes: list[str]) -> dict[str, dict[str, float]]:
    """Instructions per chat call and per whole stream, for each mode (a callgrind run each)."""
    from benchmarks import _instructions

    by_label: dict[str, int] = {}
    for mode in modes:
        counts, stdout = _instructions.run(
            python,
            [str(Path(__file__).resolve()), "--instructions-worker", ",".join(modes), mode],
            cwd=ROOT,
            env=_instructions.child_env(),
        )
        by_label.update(_instructions.labelled(counts, stdout))
    return {
        mode: {
            "chat": by_label[f"{mode}:chat"] / _COUNTED_CHATS,
            "stream": by_label[f"{mode}:stream"] / _COUNTED_STREAMS,
        }
        for mode in modes
    }


def _peer(mode: str) -> str:
    """The openai-v2 configuration ``mode`` is compared with (same capture setting)."""
    return "official" + (WITH_CONTENT if mode.endswith(WITH_CONTENT) else "")


def _instruction_rows(results: dict[str, dict[str, float]]) -> list[list[str]]:
    base = results["none"]
    rows = []
    for mode, r in results.items():
        chat_over = r["chat"] - base["chat"]
        stream_over = (r["stream"] - base["stream"]) / STREAM_CHUNKS
        versus = "—"
        official = results.get(_peer(mode))
        if official is not None and mode != "none" and not mode.startswith("official"):
            versus = (
                f"{chat_over / (official['chat'] - base['chat']):.2f} / "
                f"{stream_over * STREAM_CHUNKS / (official['stream'] - base['stream']):.2f}"
            )
        rows.append(
            [
                mode,
                f"{r['chat'] / 1e3:,.0f}k",
                "—" if mode == "none" else f"{chat_over / 1e3:+,.1f}k",
                "—" if mode == "none" else f"{stream_over:+,.0f}",
                versus,
            ]
        )
    return rows


#: Configurations measured here, and side by side with openai-v2.
_OURS = ["none", "sdk-floor", "agentkit", f"agentkit{WITH_CONTENT}"]
_SIDE_BY_SIDE = [*_OURS, "official", f"official{WITH_CONTENT}"]


def main() -> None:
    """Print per-call and per-chunk overhead tables (ratios against the same-run baseline)."""
    from benchmarks._timing import table

    header = [
        "instrumentation",
        "chat call (µs)",
        "overhead per call",
        f"{STREAM_CHUNKS}-chunk stream (µs)",
        "overhead per chunk",
    ]
    here = _run_worker(sys.executable, _OURS)
    print(table("OpenAI: this environment", header, _rows(here)))
    plain, proxied = isolated_chunk_cost()
    print(
        f"Stream proxy alone (200 parsed chunks, span and metrics amortised): "
        f"{(proxied - plain) * 1e9:.0f} ns per chunk.\n"
    )
    side = _side_env()
    if side is not None:
        both = _run_worker(side, _SIDE_BY_SIDE)
        print(
            table(
                "OpenAI: side by side with opentelemetry-instrumentation-openai-v2",
                header,
                _rows(both),
            )
        )
        base = both["none"]
        for mode in ("agentkit", f"agentkit{WITH_CONTENT}"):
            for kind in ("chat", "stream"):
                ours = both[mode][kind] - base[kind]
                theirs = both[_peer(mode)][kind] - base[kind]
                if theirs > 0:
                    print(
                        f"- {mode} {kind} (wall clock, noisy on a busy machine): overhead is "
                        f"{ours / theirs:.2f} of {_peer(mode)}'s"
                    )
                floor = both["sdk-floor"][kind] - base[kind]
                if theirs > 0 and ours > 0 and mode == "agentkit":
                    print(
                        f"  (the SDK floor alone is {floor / theirs:.2f} of openai-v2's overhead; "
                        f"agentkit's own code, above the floor, is {(ours - floor) / theirs:.2f})"
                    )
        print()
    missing = _instructions_unavailable()
    if missing:
        print(f"(instruction counts skipped: {missing})\n")
        return
    python = side if side is not None else sys.executable
    counted = _count_instructions(python, _SIDE_BY_SIDE if side is not None else _OURS)
    print(
        table(
            "OpenAI: instructions executed (callgrind; load-independent)",
            [
                "instrumentation",
                "per chat call",
                "overhead per call",
                "overhead per chunk (200-chunk stream, span and metrics amortised)",
                "overhead vs openai-v2, same capture (call / stream)",
            ],
            _instruction_rows(counted),
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2].split(","))))
    elif len(sys.argv) == 4 and sys.argv[1] == "--instructions-worker":
        sys.path.insert(0, str(ROOT))
        print(json.dumps(instructions_worker(sys.argv[2].split(","), sys.argv[3])))
    else:
        sys.path.insert(0, str(ROOT))
        main()
