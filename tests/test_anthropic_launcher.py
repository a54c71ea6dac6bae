"""Zero-code path: ``opentelemetry-instrument`` loads ``agentkit_anthropic`` from its entry point.

A real subprocess under the real launcher; the script's anthropic calls are
served by a self-written recording through the client's own MockTransport (no
network), and the spans cross the wire to the test's OTLP receiver.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.llm_helpers import ROOT, spans_of_scope
from tests.llm_helpers import launch as run_launcher
from tests.otlp_receiver import OTLPReceiver, attrs

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from tests.anthropic_helpers import fixture_cassette, request_kwargs

    cassette = fixture_cassette("message_basic.yaml")
    result = cassette.client().messages.create(**request_kwargs(cassette))
    streamed = fixture_cassette("message_stream.yaml")
    with streamed.client().messages.stream(**request_kwargs(streamed)) as stream:
        final = stream.get_final_message()
    print("RESULT", result.id, final.id)
    """
)


def launch(tmp_path: Path, receiver: OTLPReceiver, **extra_env: str) -> None:
    done = run_launcher(
        tmp_path,
        receiver,
        SCRIPT.format(root=ROOT),
        drop_env=("ANTHROPIC_",),
        PYTHONWARNINGS="ignore::DeprecationWarning",
        **extra_env,
    )
    assert "RESULT msg_fixture_basic msg_fixture_stream" in done.stdout


#: The other instrumentors the launcher would load (and their heavy libraries): not ours to test.
OTHERS = "agentkit_openai,agentkit_chromadb,agentkit_qdrant,openai,flask,fastapi"


def test_launcher_loads_agentkit_anthropic(tmp_path: Path, otlp_receiver: OTLPReceiver) -> None:
    launch(tmp_path, otlp_receiver, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=OTHERS)
    otlp_receiver.wait_for(lambda received: any(r.signal == "traces" for r in received))
    spans = spans_of_scope(otlp_receiver)
    chat = [s for s in spans.get("otel_agentkit", []) if s.name == "chat fixture-claude"]
    assert len(chat) == 2, {scope: [s.name for s in ss] for scope, ss in spans.items()}
    ids = sorted(attrs(s.attributes)["gen_ai.response.id"] for s in chat)
    assert ids == ["msg_fixture_basic", "msg_fixture_stream"]
    assert all(attrs(s.attributes)["gen_ai.provider.name"] == "anthropic" for s in chat)
    # anthropic's own tracing (on by default in 2.x) made no second span for these calls.
    assert "com.anthropic.sdk.python" not in spans


def test_disabled_instrumentation_makes_no_span(
    tmp_path: Path, otlp_receiver: OTLPReceiver
) -> None:
    launch(
        tmp_path,
        otlp_receiver,
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=OTHERS + ",agentkit_anthropic",
        ANTHROPIC_OPEN_TELEMETRY="false",
    )
    # The process has exited and flushed: anything it exported has arrived.
    assert spans_of_scope(otlp_receiver).get("otel_agentkit", []) == []
