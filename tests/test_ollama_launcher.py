"""Zero-code path: ``opentelemetry-instrument`` loads ``agentkit_ollama`` from its entry point.

A real subprocess under the real launcher. The script calls the module-level
``ollama.chat`` (the default client bound at ollama's import, which the
instrumentor must reach); its HTTP client is pointed at a self-written
recording through an httpx MockTransport (no network), and the span crosses
the wire to the test's OTLP receiver.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.llm_helpers import ROOT, our_spans
from tests.llm_helpers import launch as run_launcher
from tests.ollama_helpers import fixture_cassette
from tests.otlp_receiver import OTLPReceiver, attrs

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    import httpx
    import ollama
    from tests.ollama_helpers import HOST, fixture_cassette

    cassette = fixture_cassette("chat_basic.yaml")
    ollama._client._client = httpx.Client(base_url=HOST, transport=cassette.transport())
    result = ollama.chat(**cassette.call_kwargs())
    print("RESULT", result.message.content)
    """
)


def _other_instrumentors() -> str:
    """Every other registered instrumentor: loading them is most of the launch time."""
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="opentelemetry_instrumentor")}
    return ",".join(sorted(names - {"agentkit_ollama"}))


def launch(tmp_path: Path, receiver: OTLPReceiver, *, disable: str = "") -> None:
    done = run_launcher(
        tmp_path,
        receiver,
        SCRIPT.format(root=ROOT),
        drop_env=("OLLAMA_HOST",),
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=",".join(
            filter(None, [_other_instrumentors(), disable])
        ),
    )
    expected = fixture_cassette("chat_basic.yaml").final()["message"]["content"]
    assert f"RESULT {expected}" in done.stdout


def test_launcher_loads_agentkit_ollama(tmp_path: Path, otlp_receiver: OTLPReceiver) -> None:
    launch(tmp_path, otlp_receiver)
    otlp_receiver.wait_for(lambda received: any(r.signal == "traces" for r in received))
    cassette = fixture_cassette("chat_basic.yaml")
    name = f"chat {cassette.request_json()['model']}"
    chat = [(r, s) for r, s in our_spans(otlp_receiver) if s.name == name]
    assert len(chat) == 1, [s.name for _, s in otlp_receiver.spans()]
    resource, span = chat[0]
    assert resource["service.name"] == "launcher-test"
    span_attrs = attrs(span.attributes)
    assert span_attrs["gen_ai.provider.name"] == "ollama"
    assert span_attrs["gen_ai.usage.output_tokens"] == cassette.final()["eval_count"]


def test_disabled_instrumentation_makes_no_span(
    tmp_path: Path, otlp_receiver: OTLPReceiver
) -> None:
    launch(tmp_path, otlp_receiver, disable="agentkit_ollama")
    # The process has exited and flushed: anything it exported has arrived.
    assert our_spans(otlp_receiver) == []
