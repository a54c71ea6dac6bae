"""FastAPI and Starlette integration: ``instrument_app(app)``.

Applies the official ``opentelemetry-instrumentation-fastapi`` (server spans,
``http.server.request.duration``, ``http.server.active_requests``; FastAPI's
own native telemetry steps aside when it sees that middleware) and adds an
ASGI middleware, inside the server span, that:

- reads and validates ``X-Request-ID`` (1-128 characters of
  ``[A-Za-z0-9._:-]``, else a new UUID4), stores it in the request-id
  ContextVar for the request, sets it on the server span as
  ``agentkit.request.id`` and echoes it in the response header;
- logs ``request_started`` / ``request_completed`` (method, route template,
  status, latency_ms, request_id, plus hook fields);
- counts ``agentkit.http.requests`` / ``agentkit.http.errors``;
- answers an unhandled exception with 500 ``{"error": "internal server
  error", "request_id": ...}`` (logged server-side, recorded on the span).

HTTP errors (and FastAPI validation errors) get ``{"error": ...,
"request_id": ...}`` bodies, and ``GET /metrics``, ``GET /health`` and
``GET /health/live`` are mounted on the app.

Importing this module imports Starlette and the official instrumentation
(install with ``pip install 'otel-agentkit[fastapi]'``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from otel_agentkit.context import get_request_id
from otel_agentkit.web import DEFAULT_REQUEST_ID_HEADER
from otel_agentkit.web._common import (
    DERIVED_LIVENESS_PATH,
    INTERNAL_ERROR_MESSAGE,
    ExcludeList,
    RequestHook,
    RequestObserver,
    WebConfig,
    build_excluded_urls,
    error_body,
    framework_missing,
    health_response_async,
    instruments,
    liveness_path_for,
    liveness_response,
    metrics_response,
    resolve_request_id,
    use_stable_http_semconv,
)

try:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import BaseRoute, Match, Mount
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError as _exc:  # pragma: no cover - exercised only without the extra
    raise framework_missing("fastapi", "fastapi", _exc) from _exc

if TYPE_CHECKING:
    from otel_agentkit.telemetry import Telemetry

__all__ = ["AgentkitMiddleware", "instrument_app"]

_SCOPE_KEY: Final = "otel_agentkit.request_id"
_MARK: Final = "_otel_agentkit_instrumented"
_log = logging.getLogger("otel_agentkit.http")
_debug = logging.getLogger("otel_agentkit.web")


def instrument_app(
    app: Starlette,
    *,
    request_id_header: str = DEFAULT_REQUEST_ID_HEADER,
    metrics_path: str | None = "/metrics",
    health_path: str | None = "/health",
    liveness_path: str | None = DERIVED_LIVENESS_PATH,
    health: Any = None,
    excluded_urls: str | Sequence[str] | None = None,
    hook: RequestHook | None = None,
    hook_metric_attributes: Iterable[str] = (),
    error_handlers: bool = True,
    telemetry: Telemetry | None = None,
    **instrumentor_kwargs: Any,
) -> None:
    """Make a FastAPI (or Starlette) app observable. Call it before the app serves.

    Call it after adding your own middleware: middleware added later runs
    outside ours and does not see the request id.

    Args:
        app: the FastAPI or Starlette application.
        request_id_header: header carrying the request id in and out.
        metrics_path: where ``GET`` serves the Prometheus exposition
            (OpenMetrics when the scraper asks); None to not mount it.
            Answers 503 with a reason until ``configure()`` has run with the
            Prometheus exporter. Works alongside the standalone server.
        health_path: where ``GET`` serves the health report; None to not
            mount it (nor the liveness route, unless given explicitly).
        liveness_path: liveness route; defaults to ``<health_path>/live``;
            None to not mount it.
        health: an ``otel_agentkit.health.HealthRegistry`` (or any object with
            an async ``run()`` / a ``run_sync()`` returning a report with
            ``http_status`` and ``to_dict()``). None answers ``{"status": "ok"}``.
        excluded_urls: more URL regexes (comma-separated string or a list)
            excluded from tracing, request events and request metrics; the
            metrics/health paths and ``OTEL_PYTHON_FASTAPI_EXCLUDED_URLS`` are
            always excluded.
        hook: ``hook(request) -> {"key": value}`` (sync or async) called once
            per request before the endpoint, with a
            :class:`starlette.requests.Request`; its fields go on the events and
            the server span, and, for allow-listed keys or keys named in
            ``hook_metric_attributes``, on the request metrics. A body read
            with ``await request.json()`` / ``body()`` is replayed to the app.
            Errors are swallowed.
        hook_metric_attributes: hook keys allowed on metrics; keep their
            values low-cardinality (an enum such as an agent mode, never ids).
        error_handlers: install the JSON error handlers and the 500 answer for
            unhandled exceptions (an app's own handlers are kept).
        telemetry: use this :class:`~otel_agentkit.Telemetry`'s providers and
            Prometheus reader instead of the globals.
        **instrumentor_kwargs: passed to ``FastAPIInstrumentor.instrument_app``
            (``server_request_hook``, ``exclude_spans``, ...).

    Raises:
        RuntimeError: the app has already started serving (Starlette cannot
            add middleware then).
    """
    if getattr(app, _MARK, False):
        _debug.warning("otel_agentkit: app %r is already instrumented", app)
        return
    if getattr(app, "middleware_stack", None) is not None:
        raise RuntimeError(
            "otel_agentkit.web.fastapi.instrument_app() must run before the app starts "
            "serving requests (Starlette cannot add middleware afterwards)"
        )
    liveness_path = liveness_path_for(health_path, liveness_path)
    use_stable_http_semconv()
    excluded = build_excluded_urls(
        "FASTAPI", (metrics_path, health_path, liveness_path), excluded_urls
    )
    config = WebConfig(
        request_id_header=request_id_header,
        excluded=ExcludeList(excluded),
        hook=hook,
        hook_metric_attributes=frozenset(hook_metric_attributes),
        telemetry=telemetry,
        error_handlers=error_handlers,
    )
    # User middleware sits inside the official OpenTelemetry middleware, so the
    # server span is current in ours; insert position 0 = outermost user middleware.
    app.add_middleware(AgentkitMiddleware, config=config, owner=app)
    FastAPIInstrumentor.instrument_app(
        app,  # type: ignore[arg-type]  # Starlette apps work too
        tracer_provider=telemetry.tracer_provider if telemetry is not None else None,
        meter_provider=telemetry.meter_provider if telemetry is not None else None,
        excluded_urls=excluded,
        **instrumentor_kwargs,
    )
    if error_handlers:
        _install_error_handlers(app)
    _mount_routes(app, config, metrics_path, health_path, liveness_path, health)
    instruments(config.meter_provider())  # process metrics visible before the first request
    setattr(app, _MARK, True)


class AgentkitMiddleware:
    """Pure ASGI middleware: request id, events, request metrics, 500 JSON answer.

    Added by :func:`instrument_app`; not meant to be added by hand.
    """

    def __init__(self, app: ASGIApp, *, config: WebConfig, owner: Starlette) -> None:
        self.app = app
        self.config = config
        self.owner = owner
        self._header = config.request_id_header.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection; anything but HTTP passes straight through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        config = self.config
        try:
            request_id = resolve_request_id(self._incoming_id(scope))
            tracked = not config.excluded.url_disabled(_url(scope))
            route = _route_template(self.owner.routes, scope, "") if tracked else None
            observer = RequestObserver(config, request_id, scope.get("method", ""), route, tracked)
            scope[_SCOPE_KEY] = request_id
        except Exception:
            _debug.debug("request start failed", exc_info=True)
            await self.app(scope, receive, send)
            return
        if tracked and config.hook is not None:
            request = Request(scope, receive)
            await observer.call_hook_async(request)
            receive = _replaying(request, receive)
        observer.started()
        header, encoded_id = self._header, request_id.encode("latin-1")
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != header]
                headers.append((header, encoded_id))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if response_started or not config.error_handlers or self._app_handles_500():
                raise
            observer.record_exception(exc)
            response = JSONResponse(error_body(INTERNAL_ERROR_MESSAGE, request_id), status_code=500)
            await response(scope, receive, send_with_id)
        finally:
            observer.finish(status)
            observer.close()

    def _incoming_id(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers", ()):
            if name.lower() == self._header:
                return str(value.decode("latin-1"))
        return None

    def _app_handles_500(self) -> bool:
        handlers = getattr(self.owner, "exception_handlers", {})
        return Exception in handlers or 500 in handlers


def _url(scope: Scope) -> str:
    """The URL the official ASGI middleware matches excluded URLs against."""
    host = None
    for name, value in scope.get("headers", ()):
        if name == b"host":
            host = value.decode("latin-1")
            break
    if host is None:
        server = scope.get("server") or ("0.0.0.0", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('path', '')}"


def _route_template(routes: Iterable[BaseRoute], scope: Scope, prefix: str) -> str | None:
    """The route template (``/items/{id}``) this request will match, mounts included."""
    partial: str | None = None
    for route in routes:
        try:
            match, child = route.matches(scope)
        except Exception:
            _debug.debug("route %r failed to match", route, exc_info=True)
            continue
        path = getattr(route, "path", None)
        if match is Match.FULL:
            if isinstance(route, Mount):
                inner_routes = getattr(route, "routes", None)
                if inner_routes:
                    inner = _route_template(inner_routes, {**scope, **child}, prefix + route.path)
                    if inner is not None:
                        return inner
                return prefix + route.path
            return prefix + path if isinstance(path, str) else None
        if match is Match.PARTIAL and partial is None and isinstance(path, str):
            partial = prefix + path  # e.g. a 405: the route exists, the method does not
    return partial


def _replaying(request: Request, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body the hook already read."""
    body: bytes | None = getattr(request, "_body", None)
    if body is None:
        return receive
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _request_id(request: Request) -> str | None:
    return get_request_id() or request.scope.get(_SCOPE_KEY)


async def _http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse(
        error_body(exc.detail, _request_id(request)),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _validation_exception_handler(request: Request, exc: Exception) -> Response:
    from fastapi.encoders import jsonable_encoder

    errors = getattr(exc, "errors", None)
    body = error_body("request validation failed", _request_id(request))
    body["detail"] = jsonable_encoder(errors()) if callable(errors) else []
    return JSONResponse(body, status_code=422)


def _install_error_handlers(app: Starlette) -> None:
    defaults: list[Any] = [None]
    validation_error: type[Exception] | None = None
    try:
        from fastapi.exception_handlers import (
            http_exception_handler,
            request_validation_exception_handler,
        )
        from fastapi.exceptions import RequestValidationError

        defaults += [http_exception_handler, request_validation_exception_handler]
        validation_error = RequestValidationError
    except ImportError:  # plain Starlette
        pass
    handlers = app.exception_handlers
    if handlers.get(StarletteHTTPException) in defaults:
        app.add_exception_handler(StarletteHTTPException, _http_exception_handler)
    if validation_error is not None and handlers.get(validation_error) in defaults:
        app.add_exception_handler(validation_error, _validation_exception_handler)


def _mount_routes(
    app: Starlette,
    config: WebConfig,
    metrics_path: str | None,
    health_path: str | None,
    liveness_path: str | None,
    health: Any,
) -> None:
    if metrics_path:

        async def otel_agentkit_metrics(request: Request) -> Response:
            status, body, content_type = await run_in_threadpool(
                metrics_response, config.telemetry, request.headers.get("accept")
            )
            return Response(body, status_code=status, headers={"content-type": content_type})

        app.add_route(metrics_path, otel_agentkit_metrics, methods=["GET"], include_in_schema=False)

    if health_path:

        async def otel_agentkit_health(request: Request) -> Response:
            try:
                status, body = await health_response_async(health)
            except Exception:
                _log.error("health check raised", exc_info=True)
                status, body = 503, {"status": "down", "error": "health check failed"}
            return JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})

        app.add_route(health_path, otel_agentkit_health, methods=["GET"], include_in_schema=False)

    if liveness_path:

        async def otel_agentkit_liveness(request: Request) -> Response:
            try:
                status, body = liveness_response(health)
            except Exception:
                _log.error("liveness check raised", exc_info=True)
                status, body = 503, {"status": "down", "error": "liveness check failed"}
            return JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})

        app.add_route(
            liveness_path, otel_agentkit_liveness, methods=["GET"], include_in_schema=False
        )
