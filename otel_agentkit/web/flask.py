"""Flask integration: ``instrument_app(app)``.

Applies the official ``opentelemetry-instrumentation-flask`` (server spans,
``http.server.request.duration``, ``http.server.active_requests``) and adds:

- request ids: ``X-Request-ID`` read and validated (1-128 characters of
  ``[A-Za-z0-9._:-]``, else a new UUID4), stored in the request-id ContextVar
  for the request, set on the server span as ``agentkit.request.id`` and
  echoed in the response header;
- ``request_started`` / ``request_completed`` log events (method, route
  template, status, latency_ms, request_id, plus hook fields);
- ``agentkit.http.requests`` / ``agentkit.http.errors`` counters and process
  metrics;
- JSON error bodies ``{"error": ..., "request_id": ...}``; unhandled
  exceptions answer 500 ``{"error": "internal server error", ...}`` with no
  internal detail (the exception is logged server-side and recorded on the span);
- ``GET /metrics``, ``GET /health`` and ``GET /health/live`` routes.

Importing this module imports Flask and the official instrumentation
(install with ``pip install 'otel-agentkit[flask]'``).
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
    health_response,
    instruments,
    liveness_path_for,
    liveness_response,
    metrics_response,
    resolve_request_id,
    use_stable_http_semconv,
)

try:
    import flask
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from werkzeug.exceptions import HTTPException
except ImportError as _exc:  # pragma: no cover - exercised only without the extra
    raise framework_missing("flask", "flask", _exc) from _exc

if TYPE_CHECKING:
    from otel_agentkit.telemetry import Telemetry

__all__ = ["instrument_app"]

_ENVIRON_KEY: Final = "otel_agentkit.request"
_MARK: Final = "_otel_agentkit_instrumented"
_log = logging.getLogger("otel_agentkit.http")
_debug = logging.getLogger("otel_agentkit.web")


def instrument_app(
    app: flask.Flask,
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
    """Make a Flask app observable. Call it once, right after creating the app.

    Args:
        app: the Flask application.
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
            ``run_sync()``/``run()`` returning a report with ``http_status`` and
            ``to_dict()``). None answers ``{"status": "ok"}``.
        excluded_urls: more URL regexes (comma-separated string or a list)
            excluded from tracing, request events and request metrics; the
            metrics/health paths and ``OTEL_PYTHON_FLASK_EXCLUDED_URLS`` are
            always excluded.
        hook: ``hook(flask.request) -> {"key": value}`` called once per request
            before the view; its fields go on the events and the server span,
            and, for allow-listed keys or keys named in
            ``hook_metric_attributes``, on the request metrics. Errors are
            swallowed. Read the body with ``request.get_json(silent=True)``.
        hook_metric_attributes: hook keys allowed on metrics; keep their
            values low-cardinality (an enum such as an agent mode, never ids).
        error_handlers: install the JSON error handlers (an app's own handler
            for ``HTTPException`` or ``Exception`` is kept).
        telemetry: use this :class:`~otel_agentkit.Telemetry`'s providers and
            Prometheus reader instead of the globals.
        **instrumentor_kwargs: passed to ``FlaskInstrumentor.instrument_app``
            (``request_hook``, ``response_hook``, ``enable_commenter``, ...).
    """
    if getattr(app, _MARK, False):
        _debug.warning("otel_agentkit: Flask app %r is already instrumented", app.name)
        return
    liveness_path = liveness_path_for(health_path, liveness_path)
    use_stable_http_semconv()
    excluded = build_excluded_urls(
        "FLASK", (metrics_path, health_path, liveness_path), excluded_urls
    )
    FlaskInstrumentor.instrument_app(  # type: ignore[no-untyped-call]
        app,
        tracer_provider=telemetry.tracer_provider if telemetry is not None else None,
        meter_provider=telemetry.meter_provider if telemetry is not None else None,
        excluded_urls=excluded,
        **instrumentor_kwargs,
    )
    config = WebConfig(
        request_id_header=request_id_header,
        excluded=ExcludeList(excluded),
        hook=hook,
        hook_metric_attributes=frozenset(hook_metric_attributes),
        telemetry=telemetry,
        error_handlers=error_handlers,
    )
    # Registered after the official instrumentor's, so its server span is current.
    app.before_request(_before_request(config))
    app.after_request(_after_request(config))
    app.teardown_request(_teardown_request)
    if error_handlers:
        _install_error_handlers(app)
    _mount_routes(app, config, metrics_path, health_path, liveness_path, health)
    instruments(config.meter_provider())  # process metrics visible before the first request
    setattr(app, _MARK, True)


def _before_request(config: WebConfig) -> Any:
    def otel_agentkit_before_request() -> None:
        try:
            request = flask.request
            request_id = resolve_request_id(request.headers.get(config.request_id_header))
            rule = request.url_rule
            observer = RequestObserver(
                config,
                request_id,
                request.method,
                rule.rule if rule is not None else None,
                tracked=not config.excluded.url_disabled(_url(request.environ)),
            )
            request.environ[_ENVIRON_KEY] = observer
            observer.call_hook_sync(request)
            observer.started()
        except Exception:
            _debug.debug("request start failed", exc_info=True)

    return otel_agentkit_before_request


def _url(environ: dict[str, Any]) -> str:
    """The request URL for exclusion matching, without Werkzeug's IRI round trip."""
    url = (
        f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}"
    )
    query = environ.get("QUERY_STRING")
    return f"{url}?{query}" if query else url


def _after_request(config: WebConfig) -> Any:
    def otel_agentkit_after_request(response: flask.Response) -> flask.Response:
        observer = flask.request.environ.get(_ENVIRON_KEY)
        if isinstance(observer, RequestObserver):
            try:
                response.headers[config.request_id_header] = observer.request_id
            except Exception:
                _debug.debug("setting the request id header failed", exc_info=True)
            observer.finish(response.status_code)
        return response

    return otel_agentkit_after_request


def _teardown_request(exc: BaseException | None) -> None:
    observer = flask.request.environ.pop(_ENVIRON_KEY, None)
    if isinstance(observer, RequestObserver):
        if exc is not None:  # after_request never ran: the exception propagated
            observer.finish(500)
        observer.close()


def _has_own_handler(app: flask.Flask, exc_class: type[BaseException]) -> bool:
    return exc_class in app.error_handler_spec.get(None, {}).get(None, {})


def _install_error_handlers(app: flask.Flask) -> None:
    if not _has_own_handler(app, HTTPException):
        app.register_error_handler(HTTPException, _http_error)
    if not _has_own_handler(app, Exception):
        app.register_error_handler(Exception, _internal_error)


def _http_error(exc: HTTPException) -> Any:
    if exc.code is None or exc.code < 400:
        return exc
    # An explicit ``abort(400, "why")`` description, else the status phrase.
    message = vars(exc).get("description") or exc.name
    response = flask.jsonify(error_body(message, get_request_id()))
    response.status_code = exc.code
    try:
        for name, value in exc.get_headers():
            if name.lower() != "content-type":  # keep Allow, WWW-Authenticate, Retry-After
                response.headers[name] = value
    except Exception:
        _debug.debug("copying the HTTP error's headers failed", exc_info=True)
    return response


def _propagates(app: flask.Flask) -> bool:
    propagate = app.config.get("PROPAGATE_EXCEPTIONS")
    return bool(app.testing or app.debug) if propagate is None else bool(propagate)


def _internal_error(exc: Exception) -> Any:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    if _propagates(flask.current_app):  # testing/debug: let Flask re-raise it
        raise exc
    observer = flask.request.environ.get(_ENVIRON_KEY)
    if isinstance(observer, RequestObserver):
        observer.record_exception(exc)
    else:
        _log.error("unhandled exception", exc_info=(type(exc), exc, exc.__traceback__))
    response = flask.jsonify(error_body(INTERNAL_ERROR_MESSAGE, get_request_id()))
    response.status_code = 500
    return response


def _mount_routes(
    app: flask.Flask,
    config: WebConfig,
    metrics_path: str | None,
    health_path: str | None,
    liveness_path: str | None,
    health: Any,
) -> None:
    if metrics_path:

        def otel_agentkit_metrics() -> flask.Response:
            status, body, content_type = metrics_response(
                config.telemetry, flask.request.headers.get("Accept")
            )
            return flask.Response(body, status=status, content_type=content_type)

        app.add_url_rule(metrics_path, view_func=otel_agentkit_metrics, methods=["GET"])

    if health_path:

        def otel_agentkit_health() -> flask.Response:
            try:
                status, body = health_response(health)
            except Exception:
                _log.error("health check raised", exc_info=True)
                status, body = 503, {"status": "down", "error": "health check failed"}
            response = flask.jsonify(body)
            response.status_code = status
            response.headers["Cache-Control"] = "no-store"
            return response

        app.add_url_rule(health_path, view_func=otel_agentkit_health, methods=["GET"])

    if liveness_path:

        def otel_agentkit_liveness() -> flask.Response:
            try:
                status, body = liveness_response(health)
            except Exception:
                _log.error("liveness check raised", exc_info=True)
                status, body = 503, {"status": "down", "error": "liveness check failed"}
            response = flask.jsonify(body)
            response.status_code = status
            response.headers["Cache-Control"] = "no-store"
            return response

        app.add_url_rule(liveness_path, view_func=otel_agentkit_liveness, methods=["GET"])
