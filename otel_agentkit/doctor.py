"""``otel-agentkit doctor``: find what would keep telemetry from working, before it bites.

:func:`diagnose` checks the environment it runs in and returns
:class:`Finding` s: the resolved configuration (endpoints with credentials
redacted), the client libraries installed against the versions our
instrumentors support, which instrumentors ``opentelemetry-instrument``
would load, whether each OTLP endpoint takes an (empty) export, whether the
Prometheus port is free, and known conflicts: another instrumentation of the
same library (the official openai-v2, OpenLLMetry's), anthropic's built-in
tracing, pydantic-ai's own instrumentation, two Prometheus readers.

Run from the command line it sees the environment; called inside your app
(``print(render(diagnose()))``) it also sees what the app did in-process:
pydantic-ai's ``Agent.instrument_all()``, the readers of the meter provider.
"""

from __future__ import annotations

import errno
import importlib
import os
import socket
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from importlib.metadata import EntryPoint, PackageNotFoundError, entry_points, files, version
from typing import Any, Final, Literal

from otel_agentkit.errors import ConfigurationError

__all__ = ["Finding", "diagnose", "exit_code", "render", "to_json"]

Status = Literal["ok", "note", "warning", "error"]
_ORDER: Final[dict[str, int]] = {"ok": 0, "note": 1, "warning": 2, "error": 3}

#: Our instrumentors' entry points are ``agentkit_<library>``.
_PREFIX: Final = "agentkit_"
#: Module of another project's instrumentor -> the library it instruments (our name).
_OTHER_INSTRUMENTATIONS: Final[dict[str, str]] = {
    "opentelemetry.instrumentation.openai_v2": "openai",
    "opentelemetry.instrumentation.openai": "openai",
    "opentelemetry.instrumentation.anthropic": "anthropic",
    "opentelemetry.instrumentation.ollama": "ollama",
    "opentelemetry.instrumentation.chromadb": "chromadb",
    "opentelemetry.instrumentation.qdrant": "qdrant",
}
_OPENLLMETRY_MARKER: Final = "opentelemetry-semantic-conventions-ai"


@dataclass(frozen=True)
class Finding:
    """One thing the doctor found: a section, a status, a line, and how to fix it."""

    section: str
    status: Status
    summary: str
    fix: str | None = None


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------

_CONFIG = "configuration"


def _configuration(environ: Mapping[str, str]) -> tuple[list[Finding], Any]:
    from otel_agentkit import _content, semconv
    from otel_agentkit.health._redact import redact_url
    from otel_agentkit.telemetry.settings import resolve_settings

    try:
        settings = resolve_settings(environ=environ)
    except ConfigurationError as exc:
        return [Finding(_CONFIG, "error", str(exc), "fix the setting named above")], None
    found = [Finding(_CONFIG, "ok", f"service.name: {settings.service_name}")]
    for signal in ("traces", "metrics", "logs"):
        names = getattr(settings, f"{signal}_exporters")
        found.append(Finding(_CONFIG, "ok", f"{signal} exporters: {', '.join(names) or 'none'}"))
    for signal, otlp in settings.otlp.items():
        headers = f", headers: {', '.join(sorted(otlp.headers))}" if otlp.headers else ""
        found.append(
            Finding(
                _CONFIG,
                "ok",
                f"otlp {signal}: {otlp.protocol} {redact_url(otlp.endpoint)} "
                f"compression={otlp.compression}{headers}",
            )
        )
    if "prometheus" in settings.metrics_exporters:
        where = f"{settings.prometheus_host}:{settings.prometheus_port}"
        serving = "standalone /metrics server" if settings.prometheus_server else "app-mounted"
        found.append(Finding(_CONFIG, "ok", f"prometheus: {where} ({serving})"))
        if settings.metrics_multiprocess_dir is not None:
            found.append(
                Finding(
                    _CONFIG,
                    "ok",
                    f"prometheus multi-process dir: {settings.metrics_multiprocess_dir} "
                    f"(from {settings.metrics_multiprocess_dir_source})",
                )
            )
    raw = environ.get(semconv.ENV_CAPTURE_MESSAGE_CONTENT)
    try:
        mode = _content.parse_capture_mode(raw).name
        found.append(Finding(_CONFIG, "ok", f"content capture: {mode}"))
    except ConfigurationError as exc:
        found.append(Finding(_CONFIG, "warning", f"{exc}; no content is captured"))
    sampler = settings.sampler + (
        f" ({settings.sampler_arg})" if settings.sampler_arg is not None else ""
    )
    found.append(Finding(_CONFIG, "ok", f"sampler: {sampler}"))
    return found, settings


# ---------------------------------------------------------------------------
# Libraries and instrumentors
# ---------------------------------------------------------------------------

_LIBRARIES = "libraries"


def _disabled(environ: Mapping[str, str]) -> set[str]:
    raw = environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    return {name.strip() for name in raw.split(",") if name.strip()}


def _installed(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _library(name: str, target: str, disabled: set[str]) -> Finding:
    """Is ``name``'s library installed, in range, and will our instrumentor load?"""
    from packaging.requirements import Requirement

    entry = _PREFIX + name
    module, _, attr = target.partition(":")
    try:
        requirements = getattr(
            importlib.import_module(module), attr
        )().instrumentation_dependencies()
    except Exception as exc:
        return Finding(
            _LIBRARIES, "error", f"{entry} cannot be loaded: {type(exc).__name__}: {exc}"
        )
    parts = []
    for text in requirements:
        requirement = Requirement(text)
        installed = _installed(requirement.name)
        # ">=1.40, <4": lower bounds first, as people write them
        specifiers = sorted(requirement.specifier, key=lambda s: (s.operator[0] == "<", str(s)))
        supported = ", ".join(map(str, specifiers))
        if installed is None:
            return Finding(
                _LIBRARIES, "note", f"{requirement.name} not installed: {entry} has nothing to do"
            )
        if not requirement.specifier.contains(installed, prereleases=True):
            return Finding(
                _LIBRARIES,
                "warning",
                f"{requirement.name} {installed} is outside the supported range {supported}: "
                f"{entry} will not instrument it",
                "install a supported version: "
                f"pip install '{requirement.name}{requirement.specifier}'",
            )
        parts.append(f"{requirement.name} {installed} (supported {supported})")
    if entry in disabled:
        return Finding(
            _LIBRARIES,
            "note",
            f"{'; '.join(parts)}: {entry} is disabled by OTEL_PYTHON_DISABLED_INSTRUMENTATIONS",
        )
    return Finding(_LIBRARIES, "ok", f"{'; '.join(parts)}: {entry} will load")


def _libraries(environ: Mapping[str, str]) -> list[Finding]:
    from otel_agentkit.instrumentation import available

    disabled = _disabled(environ)
    return [_library(name, target, disabled) for name, target in sorted(available().items())]


# ---------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------

_ENDPOINTS = "endpoints"


def _otlp(settings: Any) -> list[Finding]:
    from otel_agentkit._otlpprobe import probe

    found = []
    for signal, otlp in settings.otlp.items():
        reason = probe(signal, otlp)
        if reason is None:
            found.append(Finding(_ENDPOINTS, "ok", f"OTLP {signal}: {otlp.endpoint} takes exports"))
        else:
            found.append(
                Finding(
                    _ENDPOINTS,
                    "error",
                    f"OTLP {signal}: {reason}",
                    "start the collector (or Jaeger), or fix OTEL_EXPORTER_OTLP_ENDPOINT / "
                    "OTEL_EXPORTER_OTLP_PROTOCOL (gRPC listens on 4317, HTTP on 4318)",
                )
            )
    return found


def _prometheus_port(settings: Any) -> list[Finding]:
    if "prometheus" not in settings.metrics_exporters or not settings.prometheus_server:
        return []
    where = f"{settings.prometheus_host}:{settings.prometheus_port}"
    if settings.prometheus_port == 0:
        return [Finding(_ENDPOINTS, "ok", f"Prometheus port {where}: a free one is picked")]
    try:
        infos = socket.getaddrinfo(
            settings.prometheus_host, settings.prometheus_port, type=socket.SOCK_STREAM
        )
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as sock:
            sock.bind(address)
    except OSError as exc:
        if settings.metrics_multiprocess_dir is not None and exc.errno == errno.EADDRINUSE:
            return [
                Finding(
                    _ENDPOINTS,
                    "note",
                    f"Prometheus port {where} is in use (expected in multi-process mode "
                    "while a worker serves it)",
                )
            ]
        return [
            Finding(
                _ENDPOINTS,
                "error",
                f"Prometheus port {where} cannot be bound: {exc.strerror or exc}; "
                "configure() would fail to serve /metrics",
                "stop what holds the port (your app, if it is running, holds it on purpose), or "
                "set OTEL_EXPORTER_PROMETHEUS_PORT",
            )
        ]
    return [Finding(_ENDPOINTS, "ok", f"Prometheus port {where} is free")]


# ---------------------------------------------------------------------------
# Conflicts
# ---------------------------------------------------------------------------

_CONFLICTS = "conflicts"


def _describe_dist(ep: EntryPoint) -> tuple[str, bool]:
    """(``name version``, is OpenLLMetry's) of the distribution an entry point comes from."""
    dist = ep.dist
    if dist is None:
        return ep.value, False
    requires = " ".join(dist.requires or ())
    return f"{dist.metadata['Name']} {dist.version}", _OPENLLMETRY_MARKER in requires


def _other_instrumentations(environ: Mapping[str, str]) -> list[Finding]:
    from otel_agentkit.instrumentation import available

    ours = available()
    disabled = _disabled(environ)
    found = []
    for ep in entry_points(group="opentelemetry_instrumentor"):
        module = ep.value.partition(":")[0]
        library = _OTHER_INSTRUMENTATIONS.get(module)
        if ep.name.startswith(_PREFIX) or library is None or library not in ours:
            continue
        if ep.name in disabled or _PREFIX + library in disabled:
            continue
        described, openllmetry = _describe_dist(ep)
        whose = "OpenLLMetry's" if openllmetry else "another"
        if module.endswith("openai_v2"):
            whose = "the official OpenTelemetry"
        found.append(
            Finding(
                _CONFLICTS,
                "warning",
                f"{whose} {library} instrumentation is installed too ({described}, entry point "
                f"{ep.name!r}): under opentelemetry-instrument both wrap {library}",
                f"keep one: OTEL_PYTHON_DISABLED_INSTRUMENTATIONS={ep.name} (keeps ours) or "
                f"={_PREFIX}{library} (keeps theirs)",
            )
        )
    return found


def _anthropic(environ: Mapping[str, str]) -> list[Finding]:
    installed = _installed("anthropic")
    # Its tracing lives in anthropic/_tracing.py; the installed file list says so
    # without importing anthropic (seconds).
    if installed is None or not any(
        str(path).replace("\\", "/").endswith("anthropic/_tracing.py")
        for path in files("anthropic") or ()
    ):
        return []
    if environ.get("ANTHROPIC_OPEN_TELEMETRY", "").strip().lower() == "false":
        return [Finding(_CONFLICTS, "ok", "anthropic's built-in tracing is off")]
    return [
        Finding(
            _CONFLICTS,
            "warning",
            f"anthropic {installed} traces its own calls (ANTHROPIC_OPEN_TELEMETRY is not "
            "false): agentkit_anthropic stands in for those spans in the calls it traces; "
            "the calls it does not trace (models, batches, files) keep the SDK's spans",
            "set ANTHROPIC_OPEN_TELEMETRY=false to get otel-agentkit's spans only",
        )
    ]


def _pydantic_ai() -> list[Finding]:
    installed = _installed("pydantic-ai-slim") or _installed("pydantic-ai")
    if installed is None:
        return []
    agent_module = sys.modules.get("pydantic_ai.agent")
    agent = getattr(agent_module, "Agent", None)
    if agent is not None and getattr(agent, "_instrument_default", False):
        return [
            Finding(
                _CONFLICTS,
                "warning",
                "pydantic-ai's own instrumentation is on (Agent.instrument_all()): its "
                "model-request spans and metrics describe the same calls as otel-agentkit's",
                "drop Agent.instrument_all() / instrument=True, or uninstrument('openai', "
                "'anthropic') to keep pydantic-ai's",
            )
        ]
    return [
        Finding(
            _CONFLICTS,
            "note",
            f"pydantic-ai {installed} is installed; its own instrumentation "
            "(Agent.instrument_all(), Agent(instrument=True), logfire.instrument_pydantic_ai()) "
            "would duplicate our model spans: run the doctor inside the app to see if it is on",
        )
    ]


def _chosen(group: str, wanted: str | None) -> str | None:
    """The entry point of ``group`` the launcher would pick: ``wanted``, else the first."""
    names = [ep.name for ep in entry_points(group=group)]
    if wanted is not None:
        return wanted if wanted in names else None
    return names[0] if names else None


def _configurator(environ: Mapping[str, str]) -> str | None:
    """The configurator ``opentelemetry-instrument`` would run in this environment."""
    from otel_agentkit.telemetry.launcher import CONFIGURATOR_NAME

    wanted = environ.get("OTEL_PYTHON_CONFIGURATOR") or None
    if wanted is None and _chosen("opentelemetry_distro", environ.get("OTEL_PYTHON_DISTRO")) == (
        "agentkit"
    ):
        wanted = CONFIGURATOR_NAME  # our distro selects our configurator
    return _chosen("opentelemetry_configurator", wanted)


def _readers_in_process() -> int:
    from otel_agentkit.telemetry import get_telemetry

    provider = getattr(get_telemetry(), "meter_provider", None)
    # The SDK keeps its readers privately; where depends on its version.
    readers: Iterable[object] = (
        getattr(provider, "_metric_readers", None)
        or getattr(getattr(provider, "_sdk_config", None), "metric_readers", None)
        or ()
    )
    kinds = (
        "PrometheusMetricReader",
        "PrometheusReader",
        "MultiprocessMetricReader",
        "_AutoPrometheusMetricReader",
    )
    return sum(any(c.__name__ in kinds for c in type(r).__mro__) for r in readers)


def _prometheus_readers(environ: Mapping[str, str], settings: Any) -> list[Finding]:
    found = []
    count = _readers_in_process()
    if count > 1:
        found.append(
            Finding(
                _CONFLICTS,
                "error",
                f"{count} Prometheus readers on the meter provider: every metric is exposed "
                f"{count} times and Prometheus rejects the scrape",
                "drop the PrometheusMetricReader passed in metric_readers= (the 'prometheus' "
                "exporter already adds one)",
            )
        )
    configurator = _configurator(environ)
    if (
        settings is not None
        and "prometheus" in settings.metrics_exporters
        and configurator is not None
        and configurator != "agentkit"
    ):
        found.append(
            Finding(
                _CONFLICTS,
                "warning",
                f"opentelemetry-instrument would run the {configurator!r} configurator with "
                "OTEL_METRICS_EXPORTER=prometheus: it starts its own Prometheus reader, and "
                "otel_agentkit.configure() in the app a second one",
                "set OTEL_PYTHON_CONFIGURATOR=agentkit (and OTEL_PYTHON_DISTRO=agentkit)",
            )
        )
    return found


# ---------------------------------------------------------------------------
# Running and showing
# ---------------------------------------------------------------------------


def diagnose(environ: Mapping[str, str] | None = None, *, probe: bool = True) -> list[Finding]:
    """Run every check against ``environ`` (default ``os.environ``); never raises.

    ``probe=False`` skips the network checks (OTLP endpoints, Prometheus port).
    """
    env = os.environ if environ is None else environ
    findings, settings = _configuration(env)
    findings += _libraries(env)
    if settings is not None and probe:
        findings += _otlp(settings)
        findings += _prometheus_port(settings)
    findings += _other_instrumentations(env)
    findings += _anthropic(env)
    findings += _pydantic_ai()
    findings += _prometheus_readers(env, settings)
    return findings


def exit_code(findings: Iterable[Finding]) -> int:
    """1 when a finding is an error (something is broken), else 0."""
    return 1 if any(f.status == "error" for f in findings) else 0


def render(findings: Iterable[Finding], *, color: bool = False) -> str:
    """The findings as text, grouped by section, with a closing count."""
    from otel_agentkit._version import __version__

    colours = {"ok": "32", "note": "2", "warning": "33", "error": "31"}
    lines = [f"otel-agentkit {__version__} doctor"]
    section = None
    counts = dict.fromkeys(_ORDER, 0)
    for f in findings:
        if f.section != section:
            section = f.section
            lines.append(f"\n{section}")
        counts[f.status] += 1
        label = f"{f.status:<7}"
        if color:
            label = f"\033[{colours[f.status]}m{label}\033[0m"
        lines.append(f"  {label} {f.summary}")
        if f.fix:
            lines.append(f"          fix: {f.fix}")
    verdict = "broken" if counts["error"] else "ok"
    lines.append(
        f"\n{verdict}: {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['note']} note(s)"
    )
    return "\n".join(lines) + "\n"


def to_json(findings: Iterable[Finding]) -> dict[str, Any]:
    """The findings as a JSON-able object: ``{"ok": bool, "findings": [...]}``."""
    items = list(findings)
    return {"ok": exit_code(items) == 0, "findings": [asdict(f) for f in items]}
