"""AWS Bedrock auto-instrumentation (boto3 / botocore ``bedrock-runtime`` clients).

::

    from otel_agentkit.instrumentation.bedrock import BedrockInstrumentor

    BedrockInstrumentor().instrument()

or, with no code change, ``opentelemetry-instrument python app.py`` (entry
point ``agentkit_bedrock``; ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=agentkit_bedrock``
turns it off).

botocore makes a client class at run time for each client, so the method
every client calls, ``BaseClient._make_api_call``, is wrapped: clients made
before and after ``instrument()`` alike; any other AWS call passes after one
dict lookup. Traced: ``Converse`` and ``ConverseStream`` (``chat``),
``InvokeModel`` and ``InvokeModelWithResponseStream`` (``chat``,
``text_completion`` or ``embeddings``, from the model and its body): one
CLIENT span ``{operation} {modelId}`` each (the model id as sent: a
cross-region profile ``us.anthropic...`` or an ARN), provider ``aws.bedrock``,
the client's endpoint, the guardrail, and the GenAI client metrics. An
InvokeModel body is read at once (the caller gets a fresh ``StreamingBody`` of
the same bytes); an event stream is proxied and ends the span exactly once.

OpenLLMetry's bedrock instrumentation wraps each client's methods on the
instance, outside this wrapper, and its stream spans are never current: on a
client it wrapped, it has the call and this one steps aside (one span per request).
The official botocore instrumentation wraps ``_make_api_call`` too, and its
bedrock-runtime extension makes a GenAI span of its own: outside ours, its span
is current and ours steps aside; inside ours, ours calls past it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, ClassVar

from opentelemetry import context as otel_context

from otel_agentkit import semconv
from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._genai import Call, LLMSettings
from otel_agentkit.instrumentation._llm import (
    API,
    LLMInstrumentor,
    Method,
    Wrapper,
    _without_foreign_wrapper,
    run_sync,
    streaming,
)
from otel_agentkit.instrumentation.bedrock import _converse, _invoke

__all__ = ["BedrockInstrumentor"]

#: Versions of botocore we support: the oldest the tests pass on. 1.37.24 added prompt
#: caching (``cachePoint``, the cache token counts), which botocore's client-side
#: validation rejects before it; plain Converse (1.34.116) may work but is untested.
_instruments = ("botocore >= 1.37.24, < 2",)

CONVERSE = API(
    semconv.OP_CHAT,
    _converse.request_attributes,
    _converse.read_message,
    _converse.content,
    _converse.ConverseStreamRecorder,
    model_param="modelId",
)
#: InvokeModel by gen_ai.operation.name (the model and its body say which).
INVOKE = {
    op: API(
        op,
        _invoke.request_attributes,
        _invoke.read_body,
        _invoke.content,
        _invoke.InvokeStreamRecorder,
        model_param="modelId",
    )
    for op in (semconv.OP_CHAT, semconv.OP_TEXT_COMPLETION, semconv.OP_EMBEDDINGS)
}
#: botocore operation -> (the client method, which OpenLLMetry wraps on the instance; its
#: API, or InvokeModel's by operation; the result key of its event stream, if it streams).
_OPERATIONS: dict[str, tuple[str, API | dict[str, API], str | None]] = {
    "Converse": ("converse", CONVERSE, None),
    "ConverseStream": ("converse_stream", streaming(CONVERSE), "stream"),
    "InvokeModel": ("invoke_model", INVOKE, None),
    "InvokeModelWithResponseStream": (
        "invoke_model_with_response_stream",
        {op: streaming(api) for op, api in INVOKE.items()},
        "body",
    ),
}
_SERVICE = "bedrock-runtime"
#: Module of the official botocore instrumentation (opentelemetry-instrumentation-botocore).
_BOTOCORE_MODULE = "opentelemetry.instrumentation.botocore"
#: Module of OpenLLMetry's bedrock instrumentation (opentelemetry-instrumentation-bedrock).
_OPENLLMETRY_MODULE = "opentelemetry.instrumentation.bedrock"


def _wrapped_by_openllmetry(client: Any, method: str) -> bool:
    """Whether OpenLLMetry's wrapper of ``method`` sits on this client (it traces the call)."""
    function = getattr(client, "__dict__", {}).get(method)
    module = getattr(function, "__globals__", {}).get("__name__", "")  # @wraps copied __module__
    return isinstance(module, str) and module.startswith(_OPENLLMETRY_MODULE)


def _api_call_wrapper(self: BedrockInstrumentor, settings: LLMSettings, method: Method) -> Wrapper:
    """The wrapper of ``BaseClient._make_api_call(operation_name, api_params)``."""
    in_call = self._in_call
    look_through = () if settings.keep_duplicates else self._look_through

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        operation = _OPERATIONS.get(args[0]) if len(args) == 2 else None
        if operation is None:
            return wrapped(*args, **kwargs)
        client_method, apis, stream_key = operation
        invoke = isinstance(apis, dict)
        begun = aside = None
        try:
            service = getattr(instance.meta.service_model, "service_name", None)
            if service == _SERVICE and not _wrapped_by_openllmetry(instance, client_method):
                params = _invoke.with_body(args[1]) if invoke else args[1]
                api = apis[_invoke.operation(params)] if isinstance(apis, dict) else apis
                begun = self.begin(settings, api, instance, (), params)
            if begun is None and service == _SERVICE:
                aside = self.aside(settings, instance, method)
        except Exception:
            log_internal_error("bedrock request handling")
        if begun is None:
            if aside is None:
                return wrapped(*args, **kwargs)
            # another instrumentation's span stands for the request: none inside ours
            token = otel_context.attach(aside)
            try:
                return _without_foreign_wrapper(wrapped, look_through)(*args, **kwargs)
            finally:
                otel_context.detach(token)
        call, context, params = begun
        inner = _without_foreign_wrapper(wrapped, look_through)
        result = run_sync(call, context, in_call, inner, args, kwargs)
        try:  # end the call from the result, or put its event stream behind a proxy that will
            if stream_key in result:
                result[stream_key] = self.stream(result[stream_key], call, api, None, False)
            elif not invoke or stream_key is not None:
                call.succeed_with(api.response, result, params)
            elif (invoked := _invoke.take_body(result, call)) is not None:
                call.succeed_with(api.response, invoked, params)
        except Exception:
            log_internal_error("bedrock result handling")
        return result

    return wrapper


class BedrockInstrumentor(LLMInstrumentor):
    """Instruments botocore's ``bedrock-runtime`` clients (botocore 1.37.24 up to, not incl., 2).

    Takes the keyword arguments every LLM instrumentor takes (see
    :class:`~otel_agentkit.instrumentation._llm.LLMInstrumentor`). Prices may
    be keyed by the model id without its region prefix or ARN
    (``anthropic.claude-3-5-haiku-20241022-v1:0``; see
    :func:`otel_agentkit.pricing.price_for`).
    """

    _instruments = _instruments
    _modules = ("botocore",)
    _methods = (
        Method(
            "botocore.client", "BaseClient", "_make_api_call", CONVERSE, False, _api_call_wrapper
        ),
    )
    _in_call: ClassVar[ContextVar[Call | None]] = ContextVar(
        "otel_agentkit_bedrock_call", default=None
    )
    _provider_name = semconv.PROVIDER_AWS_BEDROCK
    _look_through = (_BOTOCORE_MODULE,)

    def _endpoint_of(self, instance: Any) -> tuple[Any, Any]:
        return instance, instance.meta.endpoint_url
