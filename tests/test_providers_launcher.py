"""Zero-code: ``opentelemetry-instrument`` loads ``agentkit_bedrock``, ``agentkit_google_genai``.

A real subprocess under the real launcher, with every other instrumentor
disabled. The script imports boto3 and ``google.genai`` after the launcher
ran, so both are wrapped by the post-import hooks (``botocore``, and the
dotted ``google.genai``), then makes one call with each: a ``bedrock-runtime``
client answered by a self-written recording (botocore's ``before-send``
hook) and a Gemini client over an httpx MockTransport. The spans cross the
wire to the test's OTLP receiver.
"""

from __future__ import annotations

import textwrap
from importlib.metadata import entry_points
from pathlib import Path

from tests.llm_helpers import ROOT, launch, our_spans
from tests.otlp_receiver import OTLPReceiver, attrs

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    print("before:", [m for m in ("botocore", "google.genai") if m in sys.modules])
    from tests.bedrock_helpers import fixture_cassette as bedrock_fixture
    from tests.google_genai_helpers import fixture_cassette as genai_fixture

    bedrock_fixture("converse_tool_use.yaml").call()
    genai_fixture("function_call.yaml").client().models.generate_content(
        model="gemini-2.5-flash", contents="Weather in Oslo?"
    )
    print("done")
    """
)
OURS = {"agentkit_bedrock", "agentkit_google_genai"}


def test_launcher_loads_both(tmp_path: Path, otlp_receiver: OTLPReceiver) -> None:
    others = {ep.name for ep in entry_points(group="opentelemetry_instrumentor")} - OURS
    done = launch(
        tmp_path,
        otlp_receiver,
        SCRIPT.format(root=ROOT),
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=",".join(sorted(others)),
    )
    assert done.stdout.splitlines() == ["before: []", "done"]
    otlp_receiver.wait_for(lambda received: any(r.signal == "traces" for r in received))
    spans = {span.name: attrs(span.attributes) for _, span in our_spans(otlp_receiver)}
    assert spans.keys() == {
        "chat us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "generate_content gemini-2.5-flash",
    }
    bedrock = spans["chat us.anthropic.claude-3-5-haiku-20241022-v1:0"]
    assert bedrock["gen_ai.provider.name"] == "aws.bedrock"
    assert bedrock["gen_ai.usage.output_tokens"] == 21
    gemini = spans["generate_content gemini-2.5-flash"]
    assert gemini["gen_ai.provider.name"] == "gcp.gemini"
    assert gemini["gen_ai.usage.output_tokens"] == 42
