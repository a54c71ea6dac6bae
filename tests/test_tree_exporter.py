"""The console trace-tree exporter: one tree per trace, whatever order spans end in."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

import otel_agentkit
from otel_agentkit.pricing import ModelPrice, set_model_prices
from otel_agentkit.telemetry.tree import TreeSpanExporter, render_trace

TRACE_ID_RE = r"trace [0-9a-f]{32}"


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    encoding = "utf-8"  # type: ignore[assignment]

    def isatty(self) -> bool:
        return True


def utf8_stream() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8")


def text_of(stream: io.TextIOBase) -> str:
    if isinstance(stream, io.TextIOWrapper):
        stream.flush()
        buffer = stream.buffer
        assert isinstance(buffer, io.BytesIO)
        return buffer.getvalue().decode()
    assert isinstance(stream, io.StringIO)
    return stream.getvalue()


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def provider_for(exporter: TreeSpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def ascii_shape(text: str) -> list[str]:
    """Each line's tree prefix and span name, box-drawing glyphs mapped to ASCII."""
    for glyph, plain in zip(("├── ", "└── ", "│   "), ("|-- ", "`-- ", "|   "), strict=True):
        text = text.replace(glyph, plain)
    return [line.split("  ")[0] for line in text.splitlines()]


def without_ids(text: str) -> list[str]:
    """Lines with durations and trace ids replaced, for exact comparison."""
    import re

    text = re.sub(TRACE_ID_RE, "trace <id>", text)
    text = re.sub(r"\d+\.\d+ (ms|s)\b", "<d>", text)
    return text.splitlines()


# ---------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------


def test_nesting_with_genai_details() -> None:
    out = utf8_stream()
    tracer = provider_for(TreeSpanExporter(out)).get_tracer("t")
    set_model_prices({"m": ModelPrice(input_per_million=1.0, output_per_million=2.0)})
    try:
        with tracer.start_as_current_span("invoke_agent planner"):
            with tracer.start_as_current_span(
                "chat m",
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "m",
                    "gen_ai.response.model": "m-2024",
                    "gen_ai.usage.input_tokens": 40,
                    "gen_ai.usage.output_tokens": 8,
                    "gen_ai.response.finish_reasons": ("tool_calls",),
                },
            ):
                pass
            with tracer.start_as_current_span("execute_tool lookup") as tool:
                tool.set_attribute("error.type", "TimeoutError")
                tool.set_status(Status(StatusCode.ERROR, "upstream timed out"))
            with tracer.start_as_current_span("retrieval kb") as retrieval:
                retrieval.set_attribute("agentkit.retrieval.returned_documents", 2)
                with tracer.start_as_current_span(
                    "query_points kb",
                    attributes={"db.system.name": "qdrant", "db.response.returned_rows": 2},
                ):
                    pass
            with tracer.start_as_current_span(
                "apply_guardrail pii", attributes={"agentkit.guardrail.decision": "allow"}
            ):
                pass
    finally:
        set_model_prices(None)
    # 40 * 1.0 / 1e6 + 8 * 2.0 / 1e6 = 0.000056
    assert without_ids(text_of(out)) == [
        "invoke_agent planner  <d>  trace <id>",
        "├── chat m  <d>  model m-2024  40 in / 8 out tokens  $0.000056  tool_calls",
        "├── execute_tool lookup  <d>  ERROR TimeoutError: upstream timed out",
        "├── retrieval kb  <d>  2 docs",
        "│   └── query_points kb  <d>  qdrant  2 rows",
        "└── apply_guardrail pii  <d>  allow",
    ]


def test_children_are_ordered_by_start_and_root_line_names_the_trace() -> None:
    out = io.StringIO()
    tracer = provider_for(TreeSpanExporter(out)).get_tracer("t")
    with tracer.start_as_current_span("root") as root:
        for name in ("first", "second", "third"):
            with tracer.start_as_current_span(name):
                pass
    lines = text_of(out).splitlines()
    assert lines[0].endswith(f"trace {root.get_span_context().trace_id:032x}")
    # not a terminal and no encoding: plain ASCII, no colour
    assert [line.split("  ")[0] for line in lines[1:]] == ["|-- first", "|-- second", "`-- third"]
    assert "\033[" not in text_of(out)


def test_out_of_order_end_prints_the_late_span_under_its_parent_name() -> None:
    out = utf8_stream()
    tracer = provider_for(TreeSpanExporter(out)).get_tracer("t")
    root = tracer.start_span("root")
    context = trace.set_span_in_context(root)
    early = tracer.start_span("early", context=context)
    late = tracer.start_span("late", context=context)
    grandchild = tracer.start_span("grandchild", context=trace.set_span_in_context(late))
    early.end()
    root.end()  # the root ends while "late" is still running
    assert without_ids(text_of(out)) == ["root  <d>  trace <id>", "└── early  <d>"]
    grandchild.end()  # held: its parent has not ended
    assert len(without_ids(text_of(out))) == 2
    late.end()
    assert without_ids(text_of(out))[2:] == [
        "(ended after its trace was printed; parent: root)",
        "late  <d>  trace <id>",
        "└── grandchild  <d>",
    ]


def test_batches_that_split_a_trace_print_one_tree() -> None:
    out = io.StringIO()
    exporter = TreeSpanExporter(out)
    captured = []

    class Capture(SimpleSpanProcessor):
        def on_end(self, span: object) -> None:
            captured.append(span)

    provider = TracerProvider()
    provider.add_span_processor(Capture(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("root"):
        with tracer.start_as_current_span("a"):
            pass
        with tracer.start_as_current_span("b"):
            pass
    child_a, child_b, root = captured
    exporter.export([child_b])
    assert text_of(out) == ""
    exporter.export([root, child_a])  # the root first, in the same batch as a child
    assert [line.split("  ")[0] for line in text_of(out).splitlines()] == [
        "root",
        "|-- a",
        "`-- b",
    ]


def test_two_interleaved_traces_print_as_two_trees() -> None:
    out = io.StringIO()
    tracer = provider_for(TreeSpanExporter(out)).get_tracer("t")
    one = tracer.start_span("one")
    two = tracer.start_span("two")
    one_child = tracer.start_span("one.child", context=trace.set_span_in_context(one))
    two_child = tracer.start_span("two.child", context=trace.set_span_in_context(two))
    two_child.end()
    one_child.end()
    two.end()
    one.end()
    names = [line.split("  ")[0] for line in text_of(out).splitlines()]
    assert names == ["two", "`-- two.child", "one", "`-- one.child"]


def test_concurrent_threads_each_print_whole_trees() -> None:
    import threading

    out = io.StringIO()
    tracer = provider_for(TreeSpanExporter(out)).get_tracer("t")
    barrier = threading.Barrier(4)

    def work(n: int) -> None:
        barrier.wait()
        for _ in range(20):
            with (
                tracer.start_as_current_span(f"root{n}"),
                tracer.start_as_current_span(f"child{n}"),
            ):
                pass

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = text_of(out).splitlines()
    assert len(lines) == 4 * 20 * 2
    for root_line, child_line in zip(lines[::2], lines[1::2], strict=True):
        n = root_line.split("  ")[0].removeprefix("root")
        assert child_line.startswith(f"`-- child{n}  ")


def test_root_that_never_ends_is_printed_at_shutdown() -> None:
    out = io.StringIO()
    exporter = TreeSpanExporter(out)
    provider = provider_for(exporter)
    tracer = provider.get_tracer("t")
    root = tracer.start_span("never ends")
    context = trace.set_span_in_context(root)
    with (
        tracer.start_as_current_span("child", context=context),
        tracer.start_as_current_span("grandchild"),
    ):
        pass
    assert text_of(out) == ""
    provider.shutdown()
    lines = text_of(out).splitlines()
    trace_id = root.get_span_context().trace_id
    assert lines[0] == f"trace {trace_id:032x} (root span did not end before shutdown):"
    assert [line.split("  ")[0] for line in lines[1:]] == ["child", "`-- grandchild"]
    exporter.shutdown()  # idempotent, prints nothing more
    assert len(text_of(out).splitlines()) == 3


def test_held_spans_are_bounded() -> None:
    out = io.StringIO()
    tracer = provider_for(TreeSpanExporter(out, max_pending_spans=3)).get_tracer("t")
    roots = [tracer.start_span(f"open{n}") for n in range(2)]
    for n, root in enumerate(roots):
        for i in range(2):
            child = tracer.start_span(f"c{n}.{i}", context=trace.set_span_in_context(root))
            child.end()
    # four held spans > 3: the oldest trace was printed as it was
    first = text_of(out).splitlines()
    assert first[0].endswith("(spans held too long):")
    assert [line.split("  ")[0] for line in first[1:]] == ["c0.0", "c0.1"]


def test_remote_parent_makes_a_local_root() -> None:
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    out = io.StringIO()
    tracer = provider_for(TreeSpanExporter(out)).get_tracer("t")
    remote = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1))
    context = trace.set_span_in_context(NonRecordingSpan(remote))
    with (
        tracer.start_as_current_span("server", context=context),
        tracer.start_as_current_span("work"),
    ):
        pass
    lines = text_of(out).splitlines()
    assert lines[0].startswith("server  ")
    assert lines[0].endswith(f"trace {0xABC:032x}")
    assert lines[1].startswith("`-- work  ")


# ---------------------------------------------------------------------------
# Terminal or not
# ---------------------------------------------------------------------------


def test_colour_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = Terminal()
    tracer = provider_for(TreeSpanExporter(tty)).get_tracer("t")
    with tracer.start_as_current_span("root") as span:
        span.set_status(Status(StatusCode.ERROR, "boom"))
    assert "\033[1mroot\033[0m" in tty.getvalue()
    assert "\033[31mERROR error: boom\033[0m" in tty.getvalue()

    monkeypatch.setenv("NO_COLOR", "1")
    quiet = Terminal()
    with provider_for(TreeSpanExporter(quiet)).get_tracer("t").start_as_current_span("root"):
        pass
    assert "\033[" not in quiet.getvalue()

    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("FORCE_COLOR", "1")
    forced = io.StringIO()
    with provider_for(TreeSpanExporter(forced)).get_tracer("t").start_as_current_span("root"):
        pass
    assert "\033[1mroot" in forced.getvalue()


def test_a_broken_stream_does_not_break_the_app() -> None:
    out = io.StringIO()
    out.close()
    tracer = provider_for(TreeSpanExporter(out)).get_tracer("t")
    with tracer.start_as_current_span("root"):
        pass  # no exception


def test_render_trace_draws_given_spans() -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
        pass
    spans = memory.get_finished_spans()
    assert [line.split("  ")[0] for line in render_trace(spans).splitlines()] == [
        "root",
        "└── child",
    ]
    # a subtree on its own: the child becomes the head
    assert render_trace(spans[:1], unicode=False).startswith("child  ")


# ---------------------------------------------------------------------------
# Selecting it: configure(), the environment, the SDK's entry points, the launcher
# ---------------------------------------------------------------------------


@pytest.fixture
def tree_telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")
    yield
    otel_agentkit.shutdown()


@pytest.mark.usefixtures("tree_telemetry")
@pytest.mark.parametrize("how", ["argument", "environment"])
def test_configure_selects_tree(
    how: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if how == "argument":
        otel_agentkit.configure("tree-test", traces_exporter="tree")
    else:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "tree")
        otel_agentkit.configure("tree-test")

    @otel_agentkit.traced_agent(name="planner")
    def plan() -> None:
        tool()

    @otel_agentkit.traced_tool
    def tool() -> None:
        pass

    plan()
    # printed when the root ends, not after a batch delay or at shutdown
    assert ascii_shape(capsys.readouterr().out) == [
        "invoke_agent planner",
        "`-- execute_tool tool",
    ]


def test_sdk_entry_point_resolves_tree() -> None:
    from opentelemetry.sdk._configuration import _import_exporters

    traces, _, _ = _import_exporters(["tree"], [], [])
    assert traces == {"tree": TreeSpanExporter}


LAUNCHED_APP = textwrap.dedent(
    """
    from opentelemetry import trace

    tracer = trace.get_tracer("plain-app")
    with tracer.start_as_current_span("handle request"):
        with tracer.start_as_current_span("chat launcher-model"):
            pass
    """
)


@pytest.mark.parametrize("configurator", ["agentkit", "sdk"])
def test_launcher_prints_trees(tmp_path: Path, configurator: str) -> None:
    """OTEL_TRACES_EXPORTER=tree prints the tree when the app exits (stdout is a pipe).

    ``agentkit``: under ``opentelemetry-instrument``, which runs our
    configurator. ``sdk``: the SDK's own configurator (what other distros
    build on), which finds ``tree`` through the ``opentelemetry_traces_exporter``
    entry point and wraps it in a batch processor.
    """
    app = tmp_path / "app.py"
    source = LAUNCHED_APP
    command = [sys.executable, str(app)]
    if configurator == "agentkit":
        command = [str(Path(sys.executable).with_name("opentelemetry-instrument")), *command]
    else:
        source = (
            "from opentelemetry.sdk._configuration import _OTelSDKConfigurator\n"
            "_OTelSDKConfigurator().configure()\n" + source
        )
    app.write_text(source)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTKIT_"))}
    from importlib.metadata import entry_points

    env.update(
        OTEL_TRACES_EXPORTER="tree",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_SERVICE_NAME="tree-launcher",
        # the app uses no library: loading every instrumentor would only add seconds
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=",".join(
            ep.name for ep in entry_points(group="opentelemetry_instrumentor")
        ),
    )
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert ascii_shape(done.stdout) == ["handle request", "`-- chat launcher-model"], done.stdout
    assert "\033[" not in done.stdout
