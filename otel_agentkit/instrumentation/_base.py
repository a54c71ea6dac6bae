"""What every otel-agentkit instrumentor shares.

* :class:`TelemetryHandle` looks up tracer, GenAI metric instruments and the
  event logger lazily: from the providers given to ``instrument()``, or from
  the global providers at call time, cached on the provider's identity, so a
  process (or a test suite) that swaps the global providers is followed.
* :class:`GenAIInstruments`: the four GenAI client histograms, created once
  per meter (by ``_instruments.create_histogram``, with the semantic
  conventions' bucket boundaries as advice), and the ``agentkit.llm.cost.usd``
  counter.
* :class:`DBInstruments`: ``db.client.operation.duration``, for the
  vector-store instrumentors.
* :func:`explicit_capture` reads ``instrument(capture_content=...)``;
  :func:`metric_attributes` keeps metric points to the allow-list.
* :func:`error_type` names a failure the way ``error.type`` wants it.
* :class:`LibraryInstrumentor`, the base of every instrumentor: checks the
  library's version against ``_instruments`` (:func:`unmet_requirement`,
  :func:`report_unmet`, :func:`install_hint`) and wraps the library when the
  application imports it.
* :func:`wrap_methods` / :func:`unwrap_methods`: wrap and unwrap a list of
  methods, skipping what this version of the library lacks.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from collections.abc import Collection, Iterable, Mapping
from types import ModuleType
from typing import Any, ClassVar

from opentelemetry import _logs, metrics, trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.metrics import Meter, MeterProvider
from opentelemetry.trace import Span, Status, StatusCode, Tracer, TracerProvider

from otel_agentkit import _providers, _sanitize, semconv
from otel_agentkit._content import ContentCapture, parse_capture_mode
from otel_agentkit._instruments import BoundedCounter, create_counter, create_histogram
from otel_agentkit._version import __version__

_log = logging.getLogger("otel_agentkit")

#: Attribute values allowed on a metric point (the rest are dropped).
_ALLOWED = semconv.METRIC_ATTRIBUTE_ALLOWLIST


class GenAIInstruments:
    """The GenAI client histograms and the cost counter, created once per meter."""

    __slots__ = ("cost", "duration", "time_per_output_chunk", "time_to_first_chunk", "token_usage")

    def __init__(self, meter: Meter) -> None:
        self.duration = create_histogram(meter, semconv.GEN_AI_CLIENT_OPERATION_DURATION)
        self.token_usage = create_histogram(meter, semconv.GEN_AI_CLIENT_TOKEN_USAGE)
        self.time_to_first_chunk = create_histogram(
            meter, semconv.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK
        )
        self.time_per_output_chunk = create_histogram(
            meter, semconv.GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK
        )
        #: Estimated spend; recorded only for models the user gave a price for.
        self.cost: BoundedCounter = create_counter(
            meter,
            semconv.AGENTKIT_LLM_COST,
            semconv.UNIT_USD,
            "Estimated cost of LLM calls, from the prices the user set, in USD",
        )


class DBInstruments:
    """The database client histogram (vector stores), created once per meter."""

    __slots__ = ("duration",)

    def __init__(self, meter: Meter) -> None:
        self.duration = create_histogram(meter, semconv.DB_CLIENT_OPERATION_DURATION)


class TelemetryHandle:
    """Tracer, instruments and event logger for one instrumentor.

    Explicit providers (from ``instrument(tracer_provider=..., ...)``) are used
    as given; otherwise the current global provider is looked up at each call
    and what was built from it is cached until the global changes (one ``is``
    check per call).
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
        schema_url: str | None = None,
    ) -> None:
        self._fixed_tracer_provider = tracer_provider
        self._fixed_meter_provider = meter_provider
        self._fixed_logger_provider = logger_provider
        self._schema_url = schema_url
        self._tracer_key: object = None
        self._tracer: Tracer | None = None
        self._meter_key: object = None
        self._instruments: GenAIInstruments | None = None
        self._db_meter_key: object = None
        self._db_instruments: DBInstruments | None = None
        self._logger_key: object = None
        self._logger: _logs.Logger | None = None
        # (tracer provider, meter provider, answer) of the last inactive() check.
        self._inactive_key: tuple[object, object, bool] = (None, None, False)

    def inactive(self) -> bool:
        """True when neither the tracer nor the meter provider is real (API placeholders only).

        Instrumentors then skip all attribute work: nothing would record it.
        The answer is cached until either provider changes (two ``is`` checks).
        """
        tracer_provider = self._fixed_tracer_provider or trace.get_tracer_provider()
        meter_provider = self._fixed_meter_provider or metrics.get_meter_provider()
        key = self._inactive_key
        if key[0] is tracer_provider and key[1] is meter_provider:
            return key[2]
        answer = not (_providers.is_real(tracer_provider) or _providers.is_real(meter_provider))
        self._inactive_key = (tracer_provider, meter_provider, answer)
        return answer

    def tracer(self) -> Tracer:
        """The tracer for the current (or the fixed) tracer provider."""
        provider = self._fixed_tracer_provider or trace.get_tracer_provider()
        if provider is not self._tracer_key or self._tracer is None:
            self._tracer = provider.get_tracer(
                semconv.SCOPE_NAME, __version__, schema_url=self._schema_url
            )
            self._tracer_key = provider
        return self._tracer

    def instruments(self) -> GenAIInstruments:
        """The GenAI histograms for the current (or the fixed) meter provider."""
        provider = self._fixed_meter_provider or metrics.get_meter_provider()
        if provider is not self._meter_key or self._instruments is None:
            meter = provider.get_meter(semconv.SCOPE_NAME, __version__, schema_url=self._schema_url)
            self._instruments = GenAIInstruments(meter)
            self._meter_key = provider
        return self._instruments

    def db_instruments(self) -> DBInstruments:
        """The DB client histogram for the current (or the fixed) meter provider."""
        provider = self._fixed_meter_provider or metrics.get_meter_provider()
        if provider is not self._db_meter_key or self._db_instruments is None:
            meter = provider.get_meter(semconv.SCOPE_NAME, __version__, schema_url=self._schema_url)
            self._db_instruments = DBInstruments(meter)
            self._db_meter_key = provider
        return self._db_instruments

    def event_logger(self) -> _logs.Logger:
        """The logger that emits GenAI events for the current (or the fixed) provider."""
        provider = self._fixed_logger_provider or _logs.get_logger_provider()
        if provider is not self._logger_key or self._logger is None:
            self._logger = provider.get_logger(
                semconv.SCOPE_NAME, __version__, schema_url=self._schema_url
            )
            self._logger_key = provider
        return self._logger


def explicit_capture(value: Any) -> ContentCapture | None:
    """``instrument(capture_content=...)`` as a mode; None when not given.

    A bool means SPAN_ONLY / NO_CONTENT; a string goes through
    :func:`otel_agentkit._content.parse_capture_mode` (which names a bad value).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return ContentCapture.SPAN_ONLY if value else ContentCapture.NO_CONTENT
    return parse_capture_mode(value)


def metric_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Only the allow-listed keys, without ``None`` values."""
    return {k: v for k, v in attributes.items() if k in _ALLOWED and v is not None}


def error_type(exc: BaseException) -> str:
    """``error.type`` for an exception: its class name (``NotFoundError``, ``TimeoutError``)."""
    return _sanitize.text(type(exc).__name__)


def mark_failed(span: Span, exc: BaseException) -> str:
    """Set ``error.type`` and an ERROR status on ``span``; return the error type.

    A server may echo what it was sent (an API key) in its error message, so
    the status description is made safe (:func:`otel_agentkit._sanitize.message`:
    redacted, then cut). Never raises, also when the exception's ``__str__`` does.
    """
    kind = error_type(exc)
    if span.is_recording():
        span.set_attribute(semconv.ERROR_TYPE, kind)
        span.set_status(Status(StatusCode.ERROR, _sanitize.exception_message(exc) or kind))
    return kind


def log_internal_error(where: str) -> None:
    """Report an error inside our own wrapper: debug level, with the stack, never raised."""
    _log.debug("otel-agentkit: internal error in %s (ignored)", where, exc_info=True)


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None."""
    try:
        from importlib.metadata import version

        return version(distribution)
    except Exception:
        return None


def _split(requirement: str) -> tuple[str, str]:
    """``"qdrant-client >= 1.9, < 2"`` -> ``("qdrant-client", ">=1.9,<2")``."""
    name, _, specifier = requirement.strip().partition(" ")
    return name, specifier.replace(" ", "")


def supported(requirement: str, version: str | None) -> bool:
    """Whether ``version`` satisfies ``requirement`` (``"name >= 1.0, < 2"``)."""
    if version is None:
        return False
    try:
        from packaging.specifiers import SpecifierSet

        return version in SpecifierSet(_split(requirement)[1])
    except Exception:
        return False


def install_hint(requirements: Iterable[str]) -> str:
    """The pip command that installs ``requirements``: ``pip install 'qdrant-client>=1.9,<2'``."""
    import shlex

    return "pip install " + " ".join(shlex.quote("".join(_split(r))) for r in requirements)


def unmet_requirement(requirements: Iterable[str]) -> tuple[str, str | None] | None:
    """The first of ``requirements`` not met, with the installed version (None: absent).

    None when every one is met.
    """
    for requirement in requirements:
        version = installed_version(_split(requirement)[0])
        if not supported(requirement, version):
            return requirement, version
    return None


def report_unmet(requirement: str, version: str | None, absent_level: int) -> None:
    """Say why a library is left alone: at ``absent_level`` when it is not installed
    (with the install hint), as a warning when its version is out of range.
    """
    distribution = _split(requirement)[0]
    if version is None:
        _log.log(
            absent_level,
            "otel-agentkit: %s is not installed; install it with: %s",
            distribution,
            install_hint([requirement]),
        )
    else:
        _log.warning(
            "otel-agentkit: %s %s is not supported (%s); not instrumenting",
            distribution,
            version,
            requirement,
        )


def import_if_present(module_name: str) -> ModuleType | None:
    """``module_name``, imported; None when this version of its library has no such module.

    A module that exists but fails to import (a missing dependency of its
    own, an error in its body) raises as usual.
    """
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            return None
        raise


#: (module, class or None for a module-level function, method, wrapt wrapper)
WrapTarget = tuple[str, str | None, str, Any]


def wrap_methods(targets: Iterable[WrapTarget]) -> list[tuple[Any, str]]:
    """Wrap each ``module.class.method`` that exists; returns what was wrapped.

    A module, class or method this version of the library lacks is skipped
    quietly; a failure to wrap one (a module that fails to import included) is
    logged at debug level and the rest are still wrapped.
    """
    import wrapt

    wrapped: list[tuple[Any, str]] = []
    for module_name, class_name, method, wrapper in targets:
        try:
            owner: Any = import_if_present(module_name)
            if owner is not None and class_name is not None:
                owner = getattr(owner, class_name, None)
            if owner is None or not hasattr(owner, method):
                continue
            wrapt.wrap_function_wrapper(owner, method, wrapper)
            wrapped.append((owner, method))
        except Exception:
            _log.debug(
                "otel-agentkit: cannot wrap %s.%s.%s",
                module_name,
                class_name,
                method,
                exc_info=True,
            )
    return wrapped


def unwrap_methods(wrapped: Iterable[tuple[Any, str]], where: str) -> None:
    """Undo :func:`wrap_methods`; a failure is logged (as ``where``) and the rest undone."""
    from opentelemetry.instrumentation.utils import unwrap

    for owner, method in wrapped:
        try:
            unwrap(owner, method)
        except Exception:
            log_internal_error(where)


#: Guards the hand-over between instrument(), uninstrument() and a post-import hook.
_HOOK_LOCK = threading.Lock()


class LibraryInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Base of every otel-agentkit instrumentor: wraps its library when the app imports it.

    ``instrument()`` never imports the library. When one of ``_modules`` is
    already imported it wraps at once; otherwise it leaves a post-import hook
    (wrapt's) that wraps when the application imports it, so a library the
    program never uses is never loaded. A library that is not installed is
    left alone quietly (debug log); one installed at a version outside
    ``_instruments`` is left alone with a warning (the
    ``opentelemetry-instrument`` launcher skips the dependency check, so this
    is where it happens). An error while wrapping is logged at debug level
    and never reaches the importing program.

    ``uninstrument()`` unwraps, or cancels the pending hook: wrapt cannot
    remove a hook, so each hook carries a token and does nothing once its
    token is no longer the current one (the same holds after ``instrument()``
    again, which leaves a fresh hook).

    A subclass sets ``_instruments`` and ``_modules`` and implements
    :meth:`_wrap` and :meth:`_unwrap` (and :meth:`_check_arguments` when it
    takes arguments that can be wrong: ``instrument()`` raises for those at
    once, even when wrapping waits for an import).
    """

    #: Supported versions, ``("openai >= 1.40, < 4",)``: what
    #: :meth:`instrumentation_dependencies` returns and what pyproject's extras pin.
    _instruments: ClassVar[tuple[str, ...]]
    #: Import names whose import triggers wrapping, ``("qdrant_client",)``; also the
    #: library's logger names (:func:`otel_agentkit.instrumentation.library_loggers`)
    #: unless ``_loggers`` names them.
    _modules: ClassVar[tuple[str, ...]]
    #: The library's logger names where they are not its import names (``google_genai``).
    _loggers: ClassVar[tuple[str, ...]] = ()

    #: The current hook token while wrapping is pending; None otherwise.
    _pending: object | None = None
    #: Whether :meth:`_wrap` ran since the last :meth:`_unwrap`.
    _applied: bool = False

    def instrumentation_dependencies(self) -> Collection[str]:
        """The library versions this instrumentor supports (``_instruments``)."""
        return self._instruments

    def _instrument(self, **kwargs: Any) -> None:
        self._check_arguments(**kwargs)
        unmet = unmet_requirement(self._instruments)
        if unmet is not None:
            report_unmet(*unmet, absent_level=logging.DEBUG)
            return
        token = object()
        with _HOOK_LOCK:
            self._pending = token
        if any(name in sys.modules for name in self._modules):
            self._apply(token, kwargs)
            return
        import wrapt

        def hook(module: ModuleType) -> None:
            self._apply(token, kwargs)

        for name in self._modules:
            wrapt.register_post_import_hook(hook, name)

    def _apply(self, token: object, kwargs: dict[str, Any]) -> None:
        """Wrap, unless ``token`` was cancelled or another module's hook wrapped already."""
        with _HOOK_LOCK:
            if self._pending is not token:
                return
            self._pending = None
            self._applied = True
        try:
            self._wrap(**kwargs)
        except Exception:
            log_internal_error(f"instrumenting {self._modules[0]}")

    def _uninstrument(self, **kwargs: Any) -> None:
        with _HOOK_LOCK:
            self._pending = None
            applied, self._applied = self._applied, False
        if applied:
            self._unwrap()

    def _check_arguments(self, **kwargs: Any) -> None:
        """Raise for a bad ``instrument()`` argument now, not when the library is imported.

        By default every argument is accepted.
        """

    def _wrap(self, **kwargs: Any) -> None:
        """Install the wrappers (the library is imported; submodules may be imported freely)."""
        raise NotImplementedError

    def _unwrap(self) -> None:
        """Remove what :meth:`_wrap` installed."""
        raise NotImplementedError
