"""The botocore skeleton (``instrumentation/_botocore.py``) serves a service other than Bedrock.

A test-only instrumentor of ``sagemaker-runtime`` (an OpenAI-compatible model
container behind ``InvokeEndpoint``), a table of two operations and a
mapping of a few lines, runs through real boto3 clients answered by
botocore's own ``before-send`` hook with real ``urllib3`` responses: the
request's JSON ``Body`` is read for the mapping, the response ``Body`` is
read once and handed back whole, the event stream of
``InvokeEndpointWithResponseStream`` ends the span when it ends, and other
operations and services pass through untouched.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, ClassVar

import boto3
from botocore.awsrequest import AWSResponse
from urllib3 import HTTPResponse

from otel_agentkit.instrumentation._botocore import BODY, BotocoreInstrumentor, Operation
from otel_agentkit.instrumentation._genai import Call, LLMStreamRecorder, Response
from otel_agentkit.instrumentation._llm import API, streaming
from otel_agentkit.testing import TelemetryCapture
from tests.bedrock_helpers import fixture_cassette, frame
from tests.llm_helpers import instrument_fixture, tel_fixture

ENDPOINT = "my-llama-endpoint"
REPLY = {
    "id": "chatcmpl-7",
    "model": "meta-llama/Llama-3.1-8B-Instruct",
    "choices": [{"index": 0, "message": {"content": "Hi."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3},
}
#: A streamed reply: one JSON object per PayloadPart.
STREAM = [
    {"choices": [{"delta": {"content": "Hi"}, "finish_reason": None}]},
    {"choices": [{"delta": {"content": "."}, "finish_reason": "stop"}]},
]


def request_attributes(params: Mapping[str, Any]) -> dict[str, Any]:
    max_tokens = params[BODY].get("max_tokens")
    return {"gen_ai.request.max_tokens": max_tokens} if max_tokens else {}


def read_reply(invoked: Any, params: Mapping[str, Any], response: Response) -> None:
    _headers, body = invoked
    response.id, response.model = body.get("id"), body.get("model")
    response.finish_reasons = [choice["finish_reason"] for choice in body["choices"]]
    names = {"input_tokens": ("prompt_tokens",), "output_tokens": ("completion_tokens",)}
    response.read_usage(body.get("usage"), names)


class PartsRecorder(LLMStreamRecorder):
    """Each event is ``{"PayloadPart": {"Bytes": <one JSON object>}}``."""

    __slots__ = ("reason",)

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.reason: str | None = None

    def process(self, chunk: Any) -> None:
        choice = json.loads(chunk["PayloadPart"]["Bytes"])["choices"][0]
        self.reason = choice["finish_reason"] or self.reason

    def read(self, response: Response) -> None:
        response.finish_reasons = [self.reason] if self.reason else None


CHAT = API(
    "chat", request_attributes, read_reply, recorder=PartsRecorder, model_param="EndpointName"
)


class SageMakerInstrumentor(BotocoreInstrumentor):
    _instruments = ("botocore >= 1.37.24, < 2",)
    _service = "sagemaker-runtime"
    _operations: ClassVar[Mapping[str, Operation]] = {
        "InvokeEndpoint": Operation("invoke_endpoint", CHAT, body="Body"),
        "InvokeEndpointWithResponseStream": Operation(
            "invoke_endpoint_with_response_stream", streaming(CHAT), "Body", body="Body"
        ),
        # bedrock-runtime's operation name: the service, not the name, keeps its calls out
        "Converse": Operation(
            "converse", API("chat", lambda _: {}, lambda *_: None, model_param="modelId")
        ),
    }
    _in_call: ClassVar[ContextVar[Call | None]] = ContextVar("test_sagemaker", default=None)
    _provider_name = "aws.sagemaker"


instrument = instrument_fixture(SageMakerInstrumentor)
tel = tel_fixture()


def answer(request: Any, **_: Any) -> AWSResponse:
    """Answer as the endpoint would: a JSON reply, or its event stream."""
    if request.url.endswith("/invocations-response-stream"):
        headers = {"content-type": "application/vnd.amazon.eventstream"}
        event = {":event-type": "PayloadPart", ":message-type": "event"}
        body = b"".join(frame(event, json.dumps(part).encode()) for part in STREAM)
    elif request.url.endswith("/invocations"):
        headers, body = {"content-type": "application/json"}, json.dumps(REPLY).encode()
    else:
        headers, body = {}, b"{}"
    raw = HTTPResponse(body=io.BytesIO(body), headers=headers, status=200, preload_content=False)
    return AWSResponse(request.url, 200, headers, raw)


def client() -> Any:
    made = boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="sagemaker-SECRET-key",
    )
    made.meta.events.register("before-send.sagemaker-runtime", answer)
    return made


def request_body() -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": "Hi?"}], "max_tokens": 64}).encode()


def test_a_json_body_is_read_for_the_span_and_handed_back_whole(
    tel: TelemetryCapture,
) -> None:
    result = client().invoke_endpoint(
        EndpointName=ENDPOINT, Body=request_body(), ContentType="application/json"
    )

    assert json.loads(result["Body"].read()) == REPLY
    [span] = tel.spans()
    assert span.name == f"chat {ENDPOINT}"
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "aws.sagemaker",
        "gen_ai.request.model": ENDPOINT,
        "gen_ai.request.max_tokens": 64,
        "gen_ai.response.id": "chatcmpl-7",
        "gen_ai.response.model": "meta-llama/Llama-3.1-8B-Instruct",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 3,
        "server.address": "runtime.sagemaker.us-east-1.amazonaws.com",
        "server.port": 443,
    }


def test_an_event_stream_ends_the_span_when_it_ends(tel: TelemetryCapture) -> None:
    result = client().invoke_endpoint_with_response_stream(
        EndpointName=ENDPOINT, Body=request_body(), ContentType="application/json"
    )
    assert tel.spans() == []  # not before the stream is read

    parts = [json.loads(event["PayloadPart"]["Bytes"]) for event in result["Body"]]

    assert parts == STREAM
    [span] = tel.spans()
    assert span.name == f"chat {ENDPOINT}"
    assert (span.attributes or {})["gen_ai.request.stream"] is True
    assert (span.attributes or {})["gen_ai.response.finish_reasons"] == ("stop",)


def test_other_operations_and_services_pass_through(tel: TelemetryCapture) -> None:
    result = client().invoke_endpoint_async(
        EndpointName=ENDPOINT, InputLocation="s3://bucket/input.json"
    )
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 200
    bedrock = fixture_cassette("converse_tool_use.yaml").call()  # bedrock-runtime's Converse
    assert bedrock["stopReason"] == "tool_use"

    assert tel.spans() == []
