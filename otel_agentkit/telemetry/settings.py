"""Resolve ``configure()`` settings from arguments, environment and defaults.

Explicit arguments win over environment variables, environment variables over
defaults. Every value is validated here, before any provider, exporter or
server is built, so a bad setting raises one :class:`ConfigurationError`
naming the setting and the value instead of a stack trace from the SDK.

This module imports only the standard library.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import unquote, urlsplit

from otel_agentkit.errors import ConfigurationError

Signal = Literal["traces", "metrics", "logs"]
Protocol = Literal["grpc", "http/protobuf"]

#: ``tree`` is :class:`otel_agentkit.telemetry.tree.TreeSpanExporter` (one tree per trace).
TRACES_EXPORTERS: Final = frozenset({"otlp", "console", "tree", "none"})
METRICS_EXPORTERS: Final = frozenset({"otlp", "prometheus", "console", "none"})
LOGS_EXPORTERS: Final = frozenset({"otlp", "console", "none"})
_VALID_EXPORTERS: Final[dict[Signal, frozenset[str]]] = {
    "traces": TRACES_EXPORTERS,
    "metrics": METRICS_EXPORTERS,
    "logs": LOGS_EXPORTERS,
}
#: Names the OTel Python launcher uses for OTLP exporters; accepted as aliases.
_EXPORTER_ALIASES: Final[dict[str, tuple[str, Protocol]]] = {
    "otlp_proto_grpc": ("otlp", "grpc"),
    "otlp_proto_http": ("otlp", "http/protobuf"),
}
SAMPLERS: Final = frozenset(
    {
        "always_on",
        "always_off",
        "traceidratio",
        "parentbased_always_on",
        "parentbased_always_off",
        "parentbased_traceidratio",
    }
)
_RATIO_SAMPLERS: Final = frozenset({"traceidratio", "parentbased_traceidratio"})
PROTOCOLS: Final[frozenset[str]] = frozenset({"grpc", "http/protobuf"})
COMPRESSIONS: Final = frozenset({"gzip", "deflate", "none"})
_DEFAULT_OTLP_PORT: Final[dict[str, int]] = {"grpc": 4317, "http/protobuf": 4318}
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})

DEFAULT_PROMETHEUS_HOST: Final = "127.0.0.1"
DEFAULT_PROMETHEUS_PORT: Final = 9464
DEFAULT_SERVICE_NAME: Final = "unknown_service:python"
DEFAULT_METRIC_EXPORT_INTERVAL_S: Final = 60.0
DEFAULT_OTLP_TIMEOUT_S: Final = 10.0
#: How long ``shutdown()`` may take in all, flushing the three signals in parallel.
DEFAULT_SHUTDOWN_TIMEOUT_S: Final = 5.0
#: Distinct attribute sets each otel-agentkit metric instrument keeps.
DEFAULT_METRICS_CARDINALITY_LIMIT: Final = 2000


@dataclass(frozen=True)
class OtlpSettings:
    """Where and how one signal is exported over OTLP."""

    endpoint: str
    """Full URL: ``http://host:4318/v1/traces`` for HTTP, ``http://host:4317`` for gRPC."""
    protocol: Protocol
    headers: Mapping[str, str] = field(repr=False)
    compression: str
    timeout: float
    insecure: bool


@dataclass(frozen=True)
class Settings:
    """Every value ``configure()`` acts on, after resolution and validation."""

    service_name: str
    service_version: str | None
    environment: str | None
    resource_attributes: Mapping[str, str]
    traces_exporters: tuple[str, ...]
    metrics_exporters: tuple[str, ...]
    logs_exporters: tuple[str, ...]
    otlp: Mapping[Signal, OtlpSettings]
    prometheus_host: str
    prometheus_port: int
    prometheus_server: bool
    prometheus_host_source: str
    prometheus_port_source: str
    sampler: str
    sampler_arg: float | None
    metric_export_interval: float
    disabled: bool
    metrics_multiprocess_dir: str | None = None
    """Directory of per-process metric state files (multi-process mode), or None."""
    metrics_multiprocess_dir_source: str = "metrics_multiprocess_dir"
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT_S
    """Seconds ``shutdown()`` waits, in all, for the signals to flush."""
    metrics_cardinality_limit: int = DEFAULT_METRICS_CARDINALITY_LIMIT
    """Distinct attribute sets each instrument keeps; later ones go to the overflow series."""


def _env(name: str, environ: Mapping[str, str]) -> str | None:
    value = environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_bool(setting: str, value: str | bool) -> bool:
    """Parse a boolean setting (``true``/``false``/``1``/``0``/``yes``/``no``/``on``/``off``)."""
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(setting, value, "expected true or false")


def parse_key_values(setting: str, raw: str, *, secret: bool = False) -> dict[str, str]:
    """Parse the W3C-baggage-like ``k1=v1,k2=v2`` format (values URL-decoded)."""
    result: dict[str, str] = {}
    for index, item in enumerate(raw.split(","), start=1):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = unquote(key.strip())
        if not sep or not key:
            raise ConfigurationError(
                setting,
                raw,
                f"entry {index} is not of the form key=value (expected 'k1=v1,k2=v2')",
                secret=secret,
            )
        result[key] = unquote(value.strip())
    return result


def _exporters(
    signal: Signal,
    setting: str,
    value: str | Sequence[str] | None,
    default: tuple[str, ...],
    protocol_overrides: dict[Signal, Protocol],
) -> tuple[str, ...]:
    if value is None:
        return default
    names = value.split(",") if isinstance(value, str) else list(value)
    valid = _VALID_EXPORTERS[signal]
    result: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        if name in _EXPORTER_ALIASES:
            name, protocol = _EXPORTER_ALIASES[name]
            protocol_overrides[signal] = protocol
        if name not in valid:
            raise ConfigurationError(
                setting,
                raw,
                f"unknown {signal} exporter; expected one of {', '.join(sorted(valid))}",
            )
        if name not in result:
            result.append(name)
    if "none" in result:
        if len(result) > 1:
            raise ConfigurationError(setting, value, "'none' cannot be combined with exporters")
        return ()
    return tuple(result)


def validate_endpoint(setting: str, value: str) -> str:
    """Check that an OTLP endpoint is an ``http(s)://host[:port][/path]`` URL."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(setting, value, f"malformed URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigurationError(
            setting,
            value,
            "expected a URL with an http:// or https:// scheme, e.g. http://localhost:4317",
        )
    if not parts.hostname:
        raise ConfigurationError(setting, value, "the URL has no host")
    if port == 0:
        raise ConfigurationError(setting, value, "port 0 is not a valid destination port")
    if parts.username or parts.password:
        raise ConfigurationError(
            setting,
            "<redacted>",
            "credentials in the URL are not supported; pass them as headers",
        )
    return value.rstrip("/")


def _port(setting: str, value: str | int) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(setting, value, "expected an integer port") from None
    if not 0 <= port <= 65535:
        raise ConfigurationError(setting, value, "port must be between 0 and 65535")
    return port


def _positive_float(setting: str, value: str | float, *, scale: float = 1.0) -> float:
    try:
        number = float(value) * scale
    except (TypeError, ValueError):
        raise ConfigurationError(setting, value, "expected a number") from None
    if not math.isfinite(number) or number <= 0:
        raise ConfigurationError(setting, value, "expected a positive number")
    return number


def _positive_int(setting: str, value: str | int) -> int:
    if isinstance(value, bool):
        raise ConfigurationError(setting, value, "expected a positive integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(setting, value, "expected a positive integer") from None
    if number < 1:
        raise ConfigurationError(setting, value, "expected a positive integer")
    return number


def _sampler(
    name_value: str | None, arg_value: str | float | None, arg_setting: str, name_setting: str
) -> tuple[str, float | None]:
    name = (name_value or "parentbased_always_on").strip().lower()
    if name not in SAMPLERS:
        raise ConfigurationError(
            name_setting,
            name_value,
            f"unknown sampler; expected one of {', '.join(sorted(SAMPLERS))}",
        )
    if name not in _RATIO_SAMPLERS:
        return name, None
    if arg_value is None:
        return name, 1.0
    try:
        ratio = float(arg_value)
    except (TypeError, ValueError):
        raise ConfigurationError(
            arg_setting, arg_value, "expected a number between 0 and 1"
        ) from None
    if not 0.0 <= ratio <= 1.0 or math.isnan(ratio):
        raise ConfigurationError(arg_setting, arg_value, "sampling ratio must be between 0 and 1")
    return name, ratio


def _first(
    explicit: object, arg_name: str, environ: Mapping[str, str], *env_names: str
) -> tuple[object, str]:
    """Return the winning value and the name of the setting it came from."""
    if explicit is not None:
        return explicit, arg_name
    for env_name in env_names:
        value = _env(env_name, environ)
        if value is not None:
            return value, env_name
    return None, arg_name


def _otlp_for(
    signal: Signal,
    *,
    environ: Mapping[str, str],
    endpoint: str | None,
    protocol: str | None,
    headers: Mapping[str, str] | None,
    compression: str | None,
    timeout: float | None,
    protocol_override: Protocol | None,
) -> OtlpSettings:
    upper = signal.upper()

    proto_value, proto_setting = _first(
        protocol,
        "otlp_protocol",
        environ,
        f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    )
    if proto_value is None:
        proto_value = protocol_override or "http/protobuf"
    proto = str(proto_value).strip().lower()
    if proto not in PROTOCOLS:
        hint = (
            " (http/json is not supported by the Python exporters)" if proto == "http/json" else ""
        )
        raise ConfigurationError(
            proto_setting,
            proto_value,
            f"unknown OTLP protocol; expected grpc or http/protobuf{hint}",
        )
    resolved_protocol: Protocol = "grpc" if proto == "grpc" else "http/protobuf"

    # Endpoint: an explicit base URL beats per-signal env, which beats the base env.
    if endpoint is not None:
        base = validate_endpoint("otlp_endpoint", endpoint)
        url = base if resolved_protocol == "grpc" else f"{base}/v1/{signal}"
    elif (signal_env := _env(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT", environ)) is not None:
        url = validate_endpoint(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT", signal_env)
    elif (base_env := _env("OTEL_EXPORTER_OTLP_ENDPOINT", environ)) is not None:
        base = validate_endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", base_env)
        url = base if resolved_protocol == "grpc" else f"{base}/v1/{signal}"
    else:
        base = f"http://localhost:{_DEFAULT_OTLP_PORT[resolved_protocol]}"
        url = base if resolved_protocol == "grpc" else f"{base}/v1/{signal}"

    resolved_headers: dict[str, str] = {}
    for env_name in ("OTEL_EXPORTER_OTLP_HEADERS", f"OTEL_EXPORTER_OTLP_{upper}_HEADERS"):
        raw = _env(env_name, environ)
        if raw is not None:
            resolved_headers.update(parse_key_values(env_name, raw, secret=True))
    if headers is not None:
        resolved_headers.update(headers)

    comp_value, comp_setting = _first(
        compression,
        "otlp_compression",
        environ,
        f"OTEL_EXPORTER_OTLP_{upper}_COMPRESSION",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
    )
    comp = str(comp_value or "none").strip().lower()
    if comp not in COMPRESSIONS or (comp == "deflate" and resolved_protocol == "grpc"):
        allowed = "gzip or none" if resolved_protocol == "grpc" else "gzip, deflate or none"
        raise ConfigurationError(
            comp_setting, comp_value, f"unknown compression; expected {allowed}"
        )

    if timeout is not None:
        resolved_timeout = _positive_float("otlp_timeout", timeout)
    else:
        timeout_value, timeout_setting = _first(
            None, "", environ, f"OTEL_EXPORTER_OTLP_{upper}_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"
        )
        resolved_timeout = (
            DEFAULT_OTLP_TIMEOUT_S
            if timeout_value is None
            else _positive_float(timeout_setting, str(timeout_value), scale=0.001)
        )

    return OtlpSettings(
        endpoint=url,
        protocol=resolved_protocol,
        headers=resolved_headers,
        compression=comp,
        timeout=resolved_timeout,
        insecure=url.startswith("http://"),
    )


def _has_otlp_endpoint(environ: Mapping[str, str], signal: Signal) -> bool:
    return (
        _env("OTEL_EXPORTER_OTLP_ENDPOINT", environ) is not None
        or _env(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT", environ) is not None
    )


def resolve_settings(
    service_name: str | None = None,
    *,
    service_version: str | None = None,
    environment: str | None = None,
    resource_attributes: Mapping[str, str] | None = None,
    otlp_endpoint: str | None = None,
    otlp_protocol: str | None = None,
    otlp_headers: Mapping[str, str] | None = None,
    otlp_compression: str | None = None,
    otlp_timeout: float | None = None,
    traces_exporter: str | Sequence[str] | None = None,
    metrics_exporter: str | Sequence[str] | None = None,
    logs_exporter: str | Sequence[str] | None = None,
    prometheus_host: str | None = None,
    prometheus_port: int | None = None,
    prometheus_server: bool | None = None,
    sampler: str | None = None,
    sampler_arg: float | None = None,
    metric_export_interval: float | None = None,
    metrics_multiprocess_dir: str | os.PathLike[str] | None = None,
    shutdown_timeout: float | None = None,
    metrics_cardinality_limit: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve and validate every setting; see :func:`otel_agentkit.configure`."""
    env = os.environ if environ is None else environ

    disabled_raw = _env("OTEL_SDK_DISABLED", env)
    disabled = parse_bool("OTEL_SDK_DISABLED", disabled_raw) if disabled_raw else False

    # Resource -----------------------------------------------------------
    attrs: dict[str, str] = {}
    raw_attrs = _env("OTEL_RESOURCE_ATTRIBUTES", env)
    if raw_attrs is not None:
        attrs.update(parse_key_values("OTEL_RESOURCE_ATTRIBUTES", raw_attrs))
    if resource_attributes is not None:
        attrs.update({str(k): str(v) for k, v in resource_attributes.items()})

    name = service_name or _env("OTEL_SERVICE_NAME", env) or attrs.get("service.name")
    name = name or DEFAULT_SERVICE_NAME
    version = (
        service_version or _env("AGENTKIT_SERVICE_VERSION", env) or attrs.get("service.version")
    )
    deployment = (
        environment or _env("AGENTKIT_ENVIRONMENT", env) or attrs.get("deployment.environment.name")
    )

    # Exporters ----------------------------------------------------------
    overrides: dict[Signal, Protocol] = {}
    endpoint_given = otlp_endpoint is not None

    def default_for(signal: Signal, *extra: str) -> tuple[str, ...]:
        otlp = ("otlp",) if endpoint_given or _has_otlp_endpoint(env, signal) else ()
        return (*extra, *otlp)

    traces_value, traces_setting = _first(
        traces_exporter, "traces_exporter", env, "OTEL_TRACES_EXPORTER"
    )
    metrics_value, metrics_setting = _first(
        metrics_exporter, "metrics_exporter", env, "OTEL_METRICS_EXPORTER"
    )
    logs_value, logs_setting = _first(logs_exporter, "logs_exporter", env, "OTEL_LOGS_EXPORTER")
    traces = _exporters(
        "traces", traces_setting, _as_names(traces_value), default_for("traces"), overrides
    )
    metrics = _exporters(
        "metrics",
        metrics_setting,
        _as_names(metrics_value),
        default_for("metrics", "prometheus"),
        overrides,
    )
    logs = _exporters("logs", logs_setting, _as_names(logs_value), default_for("logs"), overrides)

    if disabled:
        traces = metrics = logs = ()

    otlp: dict[Signal, OtlpSettings] = {}
    signals: tuple[tuple[Signal, tuple[str, ...]], ...] = (
        ("traces", traces),
        ("metrics", metrics),
        ("logs", logs),
    )
    for signal, names in signals:
        if "otlp" in names:
            otlp[signal] = _otlp_for(
                signal,
                environ=env,
                endpoint=otlp_endpoint,
                protocol=otlp_protocol,
                headers=otlp_headers,
                compression=otlp_compression,
                timeout=otlp_timeout,
                protocol_override=overrides.get(signal),
            )

    # Prometheus ---------------------------------------------------------
    host_value, host_setting = _first(
        prometheus_host, "prometheus_host", env, "OTEL_EXPORTER_PROMETHEUS_HOST"
    )
    host = str(host_value or DEFAULT_PROMETHEUS_HOST)
    port_value, port_setting = _first(
        prometheus_port, "prometheus_port", env, "OTEL_EXPORTER_PROMETHEUS_PORT"
    )
    port = (
        DEFAULT_PROMETHEUS_PORT if port_value is None else _port(port_setting, port_value)  # type: ignore[arg-type]
    )
    server_value, server_setting = _first(
        prometheus_server, "prometheus_server", env, "AGENTKIT_PROMETHEUS_SERVER"
    )
    serve = True if server_value is None else parse_bool(server_setting, server_value)  # type: ignore[arg-type]

    # Sampling -----------------------------------------------------------
    sampler_value, sampler_setting = _first(sampler, "sampler", env, "OTEL_TRACES_SAMPLER")
    arg_value, arg_setting = _first(sampler_arg, "sampler_arg", env, "OTEL_TRACES_SAMPLER_ARG")
    sampler_name, ratio = _sampler(
        None if sampler_value is None else str(sampler_value),
        arg_value,  # type: ignore[arg-type]
        arg_setting,
        sampler_setting,
    )

    # Metric export interval ----------------------------------------------
    if metric_export_interval is not None:
        interval = _positive_float("metric_export_interval", metric_export_interval)
    elif (interval_env := _env("OTEL_METRIC_EXPORT_INTERVAL", env)) is not None:
        interval = _positive_float("OTEL_METRIC_EXPORT_INTERVAL", interval_env, scale=0.001)
    else:
        interval = DEFAULT_METRIC_EXPORT_INTERVAL_S

    # Multi-process metrics ----------------------------------------------
    multiproc_value, multiproc_setting = _first(
        None if metrics_multiprocess_dir is None else os.fspath(metrics_multiprocess_dir),
        "metrics_multiprocess_dir",
        env,
        "AGENTKIT_METRICS_MULTIPROC_DIR",
        "PROMETHEUS_MULTIPROC_DIR",
    )
    multiproc_dir = None
    if multiproc_value is not None and "prometheus" in metrics:
        multiproc_dir = _writable_dir(multiproc_setting, str(multiproc_value))

    # Shutdown deadline and cardinality limit ----------------------------------
    timeout_value, timeout_setting = _first(
        shutdown_timeout, "shutdown_timeout", env, "AGENTKIT_SHUTDOWN_TIMEOUT"
    )
    stop_within = (
        DEFAULT_SHUTDOWN_TIMEOUT_S
        if timeout_value is None
        else _positive_float(timeout_setting, timeout_value)  # type: ignore[arg-type]
    )
    limit_value, limit_setting = _first(
        metrics_cardinality_limit,
        "metrics_cardinality_limit",
        env,
        "AGENTKIT_METRICS_CARDINALITY_LIMIT",
    )
    limit = (
        DEFAULT_METRICS_CARDINALITY_LIMIT
        if limit_value is None
        else _positive_int(limit_setting, limit_value)  # type: ignore[arg-type]
    )

    return Settings(
        service_name=name,
        service_version=version,
        environment=deployment,
        resource_attributes=attrs,
        traces_exporters=traces,
        metrics_exporters=metrics,
        logs_exporters=logs,
        otlp=otlp,
        prometheus_host=host,
        prometheus_port=port,
        prometheus_server=serve,
        prometheus_host_source=host_setting,
        prometheus_port_source=port_setting,
        sampler=sampler_name,
        sampler_arg=ratio,
        metric_export_interval=interval,
        disabled=disabled,
        metrics_multiprocess_dir=multiproc_dir,
        metrics_multiprocess_dir_source=multiproc_setting,
        shutdown_timeout=stop_within,
        metrics_cardinality_limit=limit,
    )


def _writable_dir(setting: str, value: str) -> str:
    """An existing directory this process can create files in, as an absolute path."""
    if not value.strip():
        raise ConfigurationError(setting, value, "expected a directory path")
    path = os.path.abspath(value)
    if not os.path.exists(path):
        raise ConfigurationError(
            setting, value, "the directory does not exist (create it before the server starts)"
        )
    if not os.path.isdir(path):
        raise ConfigurationError(setting, value, "not a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigurationError(setting, value, "the directory is not writable by this process")
    return path


def _as_names(value: object) -> str | Sequence[str] | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return str(value)
