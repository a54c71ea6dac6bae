"""Zero-code path: ``opentelemetry-instrument`` loads ``agentkit_openai`` from its entry point.

A real subprocess under the real launcher; the script's openai call is served
by a self-written recording through an httpx MockTransport (no network), and
the span crosses the wire to the test's OTLP receiver.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.llm_helpers import ROOT, our_spans
from tests.llm_helpers import launch as run_launcher
from tests.openai_helpers import FIXTURES_DIR
from tests.otlp_receiver import OTLPReceiver, attrs

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from tests.openai_helpers import fixture_cassette

    cassette = fixture_cassette("chat_basic.yaml")
    result = cassette.client().chat.completions.create(**cassette.request_json())
    print("RESULT", result.id)
    """
)


def launch(tmp_path: Path, receiver: OTLPReceiver, **extra_env: str) -> str:
    done = run_launcher(tmp_path, receiver, SCRIPT.format(root=ROOT), **extra_env)
    assert "RESULT chatcmpl-fixture-basic" in done.stdout
    return done.stderr


def test_launcher_loads_agentkit_openai(tmp_path: Path, otlp_receiver: OTLPReceiver) -> None:
    # Where the official openai-v2 instrumentation (entry point ``openai``) is
    # installed, the launcher would load it too; this test is about ours.
    launch(tmp_path, otlp_receiver, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="openai")
    otlp_receiver.wait_for(lambda received: any(r.signal == "traces" for r in received))
    chat = [(r, s) for r, s in our_spans(otlp_receiver) if s.name == "chat fixture-model"]
    assert len(chat) == 1, [s.name for _, s in otlp_receiver.spans()]
    resource, span = chat[0]
    assert resource["service.name"] == "launcher-test"
    span_attrs = attrs(span.attributes)
    assert span_attrs["gen_ai.response.id"] == "chatcmpl-fixture-basic"
    assert span_attrs["gen_ai.provider.name"] == "openai"
    assert (FIXTURES_DIR / "chat_basic.yaml").is_file()


def test_disabled_instrumentation_makes_no_span(
    tmp_path: Path, otlp_receiver: OTLPReceiver
) -> None:
    launch(tmp_path, otlp_receiver, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="agentkit_openai")
    # The process has exited and flushed: anything it exported has arrived.
    assert our_spans(otlp_receiver) == []
