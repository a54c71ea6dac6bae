"""Calls that reach the API without going through a wrapped resource method.

The resource wrappers are installed on the classes (``Completions.create``, ...),
but some callables hold the *original* function bound before ``instrument()``:
a client's ``with_raw_response`` / ``with_streaming_response`` helpers (cached on
the resource at first access, each holding ``resource.create`` as it was then),
or a ``create = client.chat.completions.create`` kept by the caller. All of them
still send through ``SyncAPIClient.request`` / ``AsyncAPIClient.request``, looked up
on the class at call time.

So ``request`` is wrapped too, as a fallback: when no resource wrapper is running
(the in-call flag is off) and the request is a POST to an endpoint we instrument,
the call gets the same span, metrics and content as through the resource method,
read from the request options (the JSON body has the same keys as the method's
keyword arguments; the raw-response header is in the options' headers). Every
other request passes straight through after one context-variable read and one
dict lookup.

The fallback is a plain function set on the class, not a ``wrapt`` wrapper: it runs
on every API call, and a plain function costs about a quarter of a ``wrapt`` layer
there (0.2 against 0.8 µs). :func:`install` returns what :func:`uninstall` needs.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from types import FunctionType
from typing import Any

from otel_agentkit.instrumentation._base import log_internal_error

__all__ = ["REQUEST_TARGETS", "install", "install_all", "request_wrapper", "uninstall"]

_log = logging.getLogger("otel_agentkit")

#: (owner, original ``request``, our fallback): what :func:`uninstall` needs.
Installed = tuple[type[Any], Any, Any]

#: Marks our fallback, so uninstall() never removes someone else's wrapper.
_MARK = "_agentkit_request_fallback"

#: (module, class, is_async) whose ``request`` method every API call goes through.
REQUEST_TARGETS: tuple[tuple[str, str, bool], ...] = (
    ("openai._base_client", "SyncAPIClient", False),
    ("openai._base_client", "AsyncAPIClient", True),
)


class _ClientView:
    """What the resource wrappers read from a resource: its ``_client``."""

    __slots__ = ("_client",)

    def __init__(self, client: Any) -> None:
        self._client = client


def _options(args: Any, kwargs: Any) -> Any:
    # request(self, cast_to, options, ...): options is the second positional argument.
    return args[1] if len(args) > 1 else kwargs.get("options")


def _call_kwargs(options: Any) -> dict[str, Any] | None:
    """The resource method's keyword arguments, rebuilt from the request options."""
    body = getattr(options, "json_data", None)
    if not isinstance(body, Mapping):
        return None
    call_kwargs = dict(body)
    headers = getattr(options, "headers", None)
    if headers:
        call_kwargs["extra_headers"] = headers
    return call_kwargs


def request_wrapper(
    wrappers: Mapping[str, Callable[..., Any]], in_call: ContextVar[Any]
) -> Callable[..., Any]:
    """A wrapt wrapper for ``request``; ``wrappers`` maps an API path to its resource wrapper.

    Works for the sync and the async client alike: for the async one, both the
    original and the resource wrapper return an awaitable, which the caller awaits.
    """

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if in_call.get():  # the common case: a resource wrapper already has the span
            return wrapped(*args, **kwargs)
        op_wrapper = call_kwargs = None
        try:
            options = _options(args, kwargs)
            op_wrapper = wrappers.get(getattr(options, "url", None))  # type: ignore[arg-type]
            if op_wrapper is not None and str(getattr(options, "method", "")).lower() == "post":
                call_kwargs = _call_kwargs(options)
        except Exception:
            call_kwargs = None
        if op_wrapper is None or call_kwargs is None:
            return wrapped(*args, **kwargs)

        def send(*_: Any, **__: Any) -> Any:
            return wrapped(*args, **kwargs)

        return op_wrapper(send, _ClientView(instance), (), call_kwargs)

    return wrapper


def install_all(
    wrappers_for: Callable[[bool], Mapping[str, Callable[..., Any]]], in_call: ContextVar[Any]
) -> list[Installed]:
    """The fallback on every class of :data:`REQUEST_TARGETS` that this openai has.

    ``wrappers_for(is_async)`` maps an API path to the resource wrapper for it.
    """
    installed: list[Installed] = []
    for module_name, class_name, is_async in REQUEST_TARGETS:
        try:
            owner = getattr(importlib.import_module(module_name), class_name)
            installed.append(install(owner, wrappers_for(is_async), in_call))
        except Exception:
            _log.debug("otel-agentkit: cannot wrap %s.request", class_name, exc_info=True)
    return installed


def install(
    owner: type[Any], wrappers: Mapping[str, Callable[..., Any]], in_call: ContextVar[Any]
) -> Installed:
    """Set the fallback as ``owner.request``; returns ``(owner, original, fallback)``."""
    original = owner.__dict__["request"]
    wrapper = request_wrapper(wrappers, in_call)
    if type(original) is FunctionType:
        call_original: Callable[..., Any] = original
    else:  # someone else's descriptor (a wrapt wrapper, a staticmethod...): bind it per call

        def call_original(self: Any, *args: Any, **kwargs: Any) -> Any:
            return original.__get__(self, type(self))(*args, **kwargs)

    @functools.wraps(original)
    def request(self: Any, *args: Any, **kwargs: Any) -> Any:
        if in_call.get():  # the common case: a resource wrapper already has the span
            return call_original(self, *args, **kwargs)
        bound = functools.partial(call_original, self)
        return wrapper(bound, self, args, kwargs)

    setattr(request, _MARK, True)
    owner.request = request
    return owner, original, request


def uninstall(installed: Installed) -> None:
    """Put the original ``request`` back, unless someone replaced our fallback since."""
    owner, original, fallback = installed
    try:
        if owner.__dict__.get("request") is fallback:
            owner.request = original
    except Exception:
        log_internal_error("openai uninstrument (request)")
