"""The shared skeleton of the instrumentors of botocore (AWS SDK) clients.

botocore makes a client class at run time for each client and sends every
call of every client through one method, ``BaseClient._make_api_call(
operation_name, api_params)``. That method is wrapped (clients made before and
after ``instrument()`` alike); a :class:`BotocoreInstrumentor` names its
service and a table of :class:`Operation`\\ s, and every other AWS call passes
after one dict lookup.

What differs from a client with a method per API (:mod:`._llm`), and is done
here once:

* the :class:`~._llm.API` is picked per call, from the operation name (and,
  for an operation whose request carries a JSON body, from that body, parsed
  once into the parameters under :data:`BODY`);
* a streamed result is a dict holding an event stream (``result["stream"]``,
  ``result["body"]``): the stream is put back behind the proxy that ends the
  span;
* a JSON response body (a ``StreamingBody``) is read at once and the caller
  gets a fresh ``StreamingBody`` of the same bytes; the mapping reads
  ``(HTTP headers, parsed body)``. A read that fails fails the call, and the
  caller's own read raises the same error;
* another instrumentation may wrap the client *instance*'s methods, outside
  ``_make_api_call`` (OpenLLMetry's bedrock one): on a client it wrapped, it
  has the call (:attr:`BotocoreInstrumentor._instance_wrappers`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NamedTuple

from opentelemetry import context as otel_context

from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._genai import Call, LLMSettings, dig
from otel_agentkit.instrumentation._llm import (
    API,
    LLMInstrumentor,
    Method,
    Wrapper,
    _without_foreign_wrapper,
    run_sync,
)

__all__ = ["BODY", "BotocoreInstrumentor", "Operation", "json_object"]

#: Key, in the parameters the mapping reads, of the request body parsed once.
BODY = "_agentkit_body"


class Operation(NamedTuple):
    """One traced operation of a service (a row of the operations table)."""

    #: The client method (``converse``): where an instance wrapper would sit.
    method: str
    #: Its API; or a function of the call's parameters that picks one (by its body).
    api: API | Callable[[Mapping[str, Any]], API]
    #: The result key of its event stream; None: it does not stream.
    stream_key: str | None = None
    #: The key of its JSON request and response bodies (Bedrock's ``body``, SageMaker's
    #: ``Body``): parsed for the mapping, read once. None: the call has none.
    body: str | None = None


def json_object(data: Any) -> dict[str, Any]:
    """``data`` (JSON bytes or text) parsed, when it is a JSON object; else ``{}``."""
    try:
        parsed = json.loads(data) if isinstance(data, bytes | bytearray | str) else None
    except ValueError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {}


class _UnreadBody:
    """Stands in for a response body whose read failed: reading it raises that error again."""

    def __init__(self, error: BaseException) -> None:
        self._error = error

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        """Raise the error the first read raised."""
        raise self._error


def _take_body(
    result: dict[str, Any], key: str, call: Call
) -> tuple[Mapping[str, str], Any] | None:
    """(HTTP headers, parsed JSON body) of a result; None (``call`` failed) if the read fails."""
    from botocore.response import StreamingBody

    try:
        data = result[key].read()
    except Exception as exc:
        call.fail(exc)
        result[key] = _UnreadBody(exc)
        return None
    result[key] = StreamingBody(io.BytesIO(data), len(data))
    return dig(result, "ResponseMetadata.HTTPHeaders") or {}, json_object(data)


def _dispatch(self: BotocoreInstrumentor, settings: LLMSettings, method: Method) -> Wrapper:
    """The wrapper of ``BaseClient._make_api_call(operation_name, api_params)``."""
    in_call = self._in_call
    operations = self._operations
    look_through = () if settings.keep_duplicates else self._look_through

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        operation = operations.get(args[0]) if len(args) == 2 else None
        if operation is None:
            return wrapped(*args, **kwargs)
        begun = aside = None
        try:
            if getattr(instance.meta.service_model, "service_name", None) == self._service:
                if settings.keep_duplicates or not self._wrapped_on(instance, operation.method):
                    params = args[1]
                    if operation.body is not None:
                        params = {**params, BODY: json_object(params.get(operation.body))}
                    pick = operation.api
                    api = pick if isinstance(pick, API) else pick(params)
                    begun = self.begin(settings, api, instance, (), params)
                if begun is None:
                    aside = self.aside(settings, instance, method)
        except Exception:
            log_internal_error(f"{type(self).__name__} request handling")
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
            key = operation.stream_key
            if key in result:
                result[key] = self.stream(result[key], call, api, None, False)
            elif operation.body is None or key is not None:
                call.succeed_with(api.response, result, params)
            elif (body := _take_body(result, operation.body, call)) is not None:
                call.succeed_with(api.response, body, params)
        except Exception:
            log_internal_error(f"{type(self).__name__} result handling")
        return result

    return wrapper


#: The API of ``_make_api_call``'s :class:`~._llm.Method`: never read (each call picks its own).
_PER_CALL = API("", lambda params: {}, lambda result, params, response: None)


class BotocoreInstrumentor(LLMInstrumentor):
    """An :class:`~._llm.LLMInstrumentor` of one botocore service, from a table of operations.

    A subclass sets ``_service`` (``bedrock-runtime``) and ``_operations``
    (operation name, as botocore names it, -> :class:`Operation`), with the
    class attributes every LLM instrumentor sets (``_instruments``,
    ``_in_call``, ``_provider_name``, ...). ``server.address`` is the client's
    endpoint.
    """

    _modules = ("botocore",)
    #: The botocore service name of the clients to trace.
    _service: ClassVar[str]
    #: Operation name -> how it is traced.
    _operations: ClassVar[Mapping[str, Operation]]
    #: Modules of instrumentations that wrap a client instance's methods (outside
    #: ``_make_api_call``): on a client they wrapped, they have the call.
    _instance_wrappers: ClassVar[tuple[str, ...]] = ()

    _methods = (
        Method("botocore.client", "BaseClient", "_make_api_call", _PER_CALL, False, _dispatch),
    )

    def _wrapped_on(self, client: Any, method: str) -> bool:
        """Whether a wrapper of :attr:`_instance_wrappers` sits on ``client.<method>``."""
        if not self._instance_wrappers:
            return False
        function = getattr(client, "__dict__", {}).get(method)
        # the module the wrapper was defined in (functools.wraps copied the wrapped one's name)
        module = getattr(function, "__globals__", {}).get("__name__", "")
        return str(module).startswith(self._instance_wrappers)

    def _endpoint_of(self, instance: Any) -> tuple[Any, Any]:
        return instance, instance.meta.endpoint_url
