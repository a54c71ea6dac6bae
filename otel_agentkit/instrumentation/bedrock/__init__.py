"""AWS Bedrock auto-instrumentation (boto3 / botocore ``bedrock-runtime`` clients).

``BedrockInstrumentor().instrument()``, or ``opentelemetry-instrument python
app.py`` (entry point ``agentkit_bedrock``). Traced on every client, made
before or after ``instrument()``: ``Converse`` / ``ConverseStream`` (``chat``)
and ``InvokeModel`` / ``InvokeModelWithResponseStream`` (``chat``,
``text_completion`` or ``embeddings``, from the model and its body). This is
the table of operations; the botocore plumbing is :mod:`.._botocore`'s.
docs/bedrock.md says what a span holds and how it lives beside other
instrumentations of Bedrock (one span per request).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import ClassVar

from otel_agentkit import semconv
from otel_agentkit.instrumentation._botocore import BotocoreInstrumentor, Operation
from otel_agentkit.instrumentation._genai import Call
from otel_agentkit.instrumentation._llm import API, streaming
from otel_agentkit.instrumentation.bedrock import _calls

__all__ = ["BedrockInstrumentor"]

#: Versions of botocore we support: the oldest the tests pass on. 1.37.24 added prompt
#: caching (``cachePoint``, the cache token counts), which botocore's client-side
#: validation rejects before it; plain Converse (1.34.116) may work but is untested.
_instruments = ("botocore >= 1.37.24, < 2",)

CONVERSE = API(
    semconv.OP_CHAT,
    _calls.request_attributes,
    _calls.read_converse,
    _calls.converse_content,
    _calls.ConverseStreamRecorder,
    model_param="modelId",
)
#: InvokeModel by gen_ai.operation.name (the model and its body say which).
INVOKE = {
    op: API(
        op,
        _calls.request_attributes,
        _calls.read_body,
        _calls.invoke_content,
        _calls.InvokeStreamRecorder,
        model_param="modelId",
    )
    for op in (semconv.OP_CHAT, semconv.OP_TEXT_COMPLETION, semconv.OP_EMBEDDINGS)
}
INVOKE_STREAM = {op: streaming(api) for op, api in INVOKE.items()}


#: botocore operation name -> how it is traced.
OPERATIONS = {
    "Converse": Operation("converse", CONVERSE),
    "ConverseStream": Operation("converse_stream", streaming(CONVERSE), "stream"),
    "InvokeModel": Operation(
        "invoke_model", lambda params: INVOKE[_calls.operation(params)], body="body"
    ),
    "InvokeModelWithResponseStream": Operation(
        "invoke_model_with_response_stream",
        lambda params: INVOKE_STREAM[_calls.operation(params)],
        "body",
        body="body",
    ),
}


class BedrockInstrumentor(BotocoreInstrumentor):
    """Instruments botocore's ``bedrock-runtime`` clients (botocore 1.37.24 up to, not incl., 2).

    Takes the keyword arguments every LLM instrumentor takes (see
    :class:`~otel_agentkit.instrumentation._llm.LLMInstrumentor`). Prices may
    be keyed by the model id without its region prefix or ARN
    (``anthropic.claude-3-5-haiku-20241022-v1:0``; see
    :func:`otel_agentkit.pricing.price_for`).
    """

    _instruments = _instruments
    _service = "bedrock-runtime"
    _operations = OPERATIONS
    _in_call: ClassVar[ContextVar[Call | None]] = ContextVar(
        "otel_agentkit_bedrock_call", default=None
    )
    _provider_name = semconv.PROVIDER_AWS_BEDROCK
    #: The official botocore instrumentation wraps ``_make_api_call`` too and makes a
    #: GenAI span of its own: outside ours, it has the call; inside, ours calls past it.
    _look_through = ("opentelemetry.instrumentation.botocore",)
    #: OpenLLMetry's bedrock instrumentation wraps each client's methods (its stream
    #: spans are never current): on a client it wrapped, it has the call.
    _instance_wrappers = ("opentelemetry.instrumentation.bedrock",)
