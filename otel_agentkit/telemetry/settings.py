"""Resolve ``configure()`` settings from arguments, environment and defaults.

Explicit arguments win over environment variables, environment variables over
defaults; a per-signal variable (``OTEL_EXPORTER_OTLP_TRACES_*``) wins over the
generic one, and an empty variable is the same as an unset one, as the
OpenTelemetry specification says. Every value, argument or variable, is
validated here, before any provider, exporter or server is built, so a bad
setting raises one :class:`ConfigurationError` naming the setting and the
value instead of a stack trace from the SDK. Exporter and sampler names that
are not built in are looked up in the SDK's entry points, as the SDK does.

This module imports only the standard library.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import unquote, urlsplit

from otel_agentkit.errors import ConfigurationError

Signal = Literal["traces", "metrics", "logs"]
Protocol = Literal["grpc", "http/protobuf"]

#: Exporters built here, with this module's settings. ``tree`` is
#: :class:`otel_agentkit.telemetry.tree.TreeSpanExporter` (one tree per trace).
#: Any other name is looked up in the SDK's ``opentelemetry_{signal}_exporter``
#: entry points, as the SDK's own configurator does.
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
#: The samplers the specification defines, built here; any other name is looked
#: up in the SDK's ``opentelemetry_traces_sampler`` entry points.
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
SAMPLER_ENTRY_POINTS: Final = "opentelemetry_traces_sampler"
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


def exporter_entry_points(signal: Signal) -> str:
    """The SDK's entry-point group of ``signal``'s exporters (``opentelemetry_traces_exporter``)."""
    return f"opentelemetry_{signal}_exporter"


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
    sampler_arg: float | str | None
    """The ratio of the ``*traceidratio`` samplers; for a sampler from an entry
    point, the argument as given (``OTEL_TRACES_SAMPLER_ARG`` is a string)."""
    metric_export_interval: float
    disabled: bool
    metrics_multiprocess_dir: str | None = None
    """Directory of per-process metric state files (multi-process mode), or None."""
    metrics_multiprocess_dir_source: str = "metrics_multiprocess_dir"
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT_S
    """Seconds ``shutdown()`` waits, in all, for the signals to flush."""
    metrics_cardinality_limit: int = DEFAULT_METRICS_CARDINALITY_LIMIT
    """Distinct attribute sets each instrument keeps; later ones go to the overflow series."""
    exporter_sources: Mapping[Signal, str] = field(default_factory=dict)
    """The setting each signal's exporter list came from (for errors at build time)."""
    sampler_source: str = "sampler"


def _env(name: str, environ: Mapping[str, str]) -> str | None:
    """The variable's value, stripped; None when it is unset or empty (the spec's rule)."""
    value = environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_bool(setting: str, value: str | bool) -> bool:
    """Parse a boolean setting (``true``/``false``/``1``/``0``/``yes``/``no``/``on``/``off``)."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ConfigurationError(setting, value, "expected true or false")
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(setting, value, "expected true or false")


def _sdk_disabled(raw: str | None) -> bool:
    """``OTEL_SDK_DISABLED`` as the specification reads it: only ``true`` (any case) is true.

    Any other value is false; one that is not ``false`` either gets a warning.
    """
    lowered = (raw or "").strip().lower()
    if lowered not in ("", "true", "false"):
        logging.getLogger("otel_agentkit").warning(
            "otel-agentkit: OTEL_SDK_DISABLED=%r is neither true nor false; read as false", raw
        )
    return lowered == "true"


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


def _entry_point_names(group: str) -> frozenset[str]:
    """Names registered in an entry-point group by the installed distributions."""
    from importlib.metadata import entry_points

    return frozenset(ep.name for ep in entry_points(group=group))


def _expected(builtin: frozenset[str], registered: frozenset[str]) -> str:
    """The names that would work: ours, then those installed packages register."""
    extra = sorted(registered - builtin)
    installed = f", or one installed packages register ({', '.join(extra)})" if extra else ""
    return f"expected one of {', '.join(sorted(builtin))}{installed}"


def _names(setting: str, value: object) -> list[str] | None:
    """A comma-separated string or a sequence of strings as a list; None when it names nothing."""
    if value is None:
        return None
    if isinstance(value, str):
        raw = value.split(",")
    elif isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        raw = list(value)
        if not all(isinstance(name, str) for name in raw):
            raise ConfigurationError(setting, value, "expected exporter names (strings)")
    else:
        raise ConfigurationError(
            setting, value, "expected a name, a comma-separated string or a list of names"
        )
    names = [name.strip() for name in raw if name.strip()]
    return names or None  # "" and " , " name nothing: the same as unset


def _exporters(
    signal: Signal,
    setting: str,
    names: list[str] | None,
    default: tuple[str, ...],
    protocol_overrides: dict[Signal, Protocol],
) -> tuple[str, ...]:
    if names is None:
        return default
    builtin = _VALID_EXPORTERS[signal]
    result: list[str] = []
    for raw in names:
        name = raw.lower()
        if name in _EXPORTER_ALIASES:
            name, protocol = _EXPORTER_ALIASES[name]
            protocol_overrides[signal] = protocol
        if name not in builtin:
            registered = _entry_point_names(exporter_entry_points(signal))
            if raw in registered:
                name = raw  # entry-point names are case-sensitive
            elif name not in registered:
                raise ConfigurationError(
                    setting, raw, f"unknown {signal} exporter; {_expected(builtin, registered)}"
                )
        if name not in result:
            result.append(name)
    if "none" in result:
        if len(result) > 1:
            raise ConfigurationError(
                setting, ",".join(names), "'none' cannot be combined with exporters"
            )
        return ()
    return tuple(result)


def validate_endpoint(setting: str, value: str) -> str:
    """Check that an OTLP endpoint is an ``http(s)://host[:port][/path]`` URL."""
    if not isinstance(value, str):
        raise ConfigurationError(
            setting, value, "expected a URL string, e.g. http://localhost:4317"
        )
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


def _port(setting: str, value: object) -> int:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ConfigurationError(setting, value, "expected an integer port")
    if isinstance(value, float) and not value.is_integer():
        raise ConfigurationError(setting, value, "expected an integer port")
    try:
        port = int(value)
    except ValueError:
        raise ConfigurationError(setting, value, "expected an integer port") from None
    if not 0 <= port <= 65535:
        raise ConfigurationError(setting, value, "port must be between 0 and 65535")
    return port


def _positive_float(setting: str, value: object, *, scale: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigurationError(setting, value, "expected a number")
    try:
        number = float(value) * scale
    except ValueError:
        raise ConfigurationError(setting, value, "expected a number") from None
    if not math.isfinite(number) or number <= 0:
        raise ConfigurationError(setting, value, "expected a positive number")
    return number


def _positive_int(setting: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigurationError(setting, value, "expected a positive integer")
    try:
        number = int(value)
    except ValueError:
        raise ConfigurationError(setting, value, "expected a positive integer") from None
    if number < 1:
        raise ConfigurationError(setting, value, "expected a positive integer")
    return number


def _text(setting: str, value: object) -> str | None:
    """An optional string argument: None or a string (empty is the same as None)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(setting, value, "expected a string")
    return value.strip() or None


def _sampler(
    name_value: object, arg_value: object, arg_setting: str, name_setting: str
) -> tuple[str, float | str | None]:
    if name_value is not None and not isinstance(name_value, str):
        raise ConfigurationError(name_setting, name_value, "expected a sampler name")
    raw = (name_value or "").strip()
    name = raw.lower() or "parentbased_always_on"
    if name not in SAMPLERS:
        registered = _entry_point_names(SAMPLER_ENTRY_POINTS)
        if raw in registered:
            # As the SDK does: the factory gets the argument as it was given.
            return raw, None if arg_value is None else arg_value  # type: ignore[return-value]
        raise ConfigurationError(
            name_setting, name_value, f"unknown sampler; {_expected(SAMPLERS, registered)}"
        )
    if name not in _RATIO_SAMPLERS:
        return name, None
    if arg_value is None:
        return name, 1.0
    if isinstance(arg_value, bool) or not isinstance(arg_value, str | int | float):
        raise ConfigurationError(arg_setting, arg_value, "expected a number between 0 and 1")
    try:
        ratio = float(arg_value)
    except ValueError:
        raise ConfigurationError(
            arg_setting, arg_value, "expected a number between 0 and 1"
        ) from None
    if not 0.0 <= ratio <= 1.0 or math.isnan(ratio):
        raise ConfigurationError(arg_setting, arg_value, "sampling ratio must be between 0 and 1")
    return name, ratio


def _first(
    explicit: object, arg_name: str, environ: Mapping[str, str], *env_names: str
) -> tuple[object, str]:
    """Return the winning value and the name of the setting it came from.

    The argument wins when given; then the variables in order (the per-signal
    one before the generic one); an empty variable is skipped like an unset one.
    """
    if explicit is not None:
        return explicit, arg_name
    for env_name in env_names:
        value = _env(env_name, environ)
        if value is not None:
            return value, env_name
    return None, arg_name


def _protocol(setting: str, value: object) -> Protocol:
    proto = value.strip().lower() if isinstance(value, str) else None
    if proto not in PROTOCOLS:
        hint = (
            " (http/json is not supported by the Python exporters)" if proto == "http/json" else ""
        )
        raise ConfigurationError(
            setting, value, f"unknown OTLP protocol; expected grpc or http/protobuf{hint}"
        )
    return "grpc" if proto == "grpc" else "http/protobuf"


def _compression(setting: str, value: object, protocol: Protocol | None) -> str:
    comp = value.strip().lower() if isinstance(value, str) else None
    if comp not in COMPRESSIONS or (comp == "deflate" and protocol == "grpc"):
        allowed = "gzip or none" if protocol == "grpc" else "gzip, deflate or none"
        raise ConfigurationError(setting, value, f"unknown compression; expected {allowed}")
    return comp


def _header_map(setting: str, value: object) -> dict[str, str]:
    """``otlp_headers``: a mapping of header names to string values (never echoed)."""
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            setting,
            value,
            "expected a mapping of header names to values, e.g. {'api-key': '...'}",
            secret=True,
        )
    headers: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip() or not isinstance(item, str):
            raise ConfigurationError(
                setting, value, "header names and values must be non-empty strings", secret=True
            )
        headers[key.strip().lower()] = item
    return headers


@dataclass(frozen=True)
class _OtlpArguments:
    """The ``otlp_*`` arguments of ``configure()``, validated whether or not OTLP is used."""

    endpoint: str | None = None
    protocol: Protocol | None = None
    headers: Mapping[str, str] | None = None
    compression: str | None = None
    timeout: float | None = None

    @classmethod
    def check(
        cls,
        endpoint: object,
        protocol: object,
        headers: object,
        compression: object,
        timeout: object,
    ) -> _OtlpArguments:
        proto = None if protocol is None else _protocol("otlp_protocol", protocol)
        return cls(
            endpoint=None if endpoint is None else validate_endpoint("otlp_endpoint", endpoint),  # type: ignore[arg-type]
            protocol=proto,
            headers=None if headers is None else _header_map("otlp_headers", headers),
            compression=(
                None
                if compression is None
                else _compression("otlp_compression", compression, proto)
            ),
            timeout=None if timeout is None else _positive_float("otlp_timeout", timeout),
        )


def _otlp_for(
    signal: Signal,
    args: _OtlpArguments,
    environ: Mapping[str, str],
    protocol_override: Protocol | None,
) -> OtlpSettings:
    upper = signal.upper()

    # Each setting: the argument, else the per-signal variable, else the generic one.
    # An exporter name that says its protocol (otlp_proto_grpc) says it for its signal.
    proto_value, proto_setting = _first(
        args.protocol,
        "otlp_protocol",
        environ,
        f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    )
    protocol = protocol_override or _protocol(proto_setting, proto_value or "http/protobuf")

    # A base URL (argument or generic variable) gets the signal's path over HTTP;
    # the per-signal variable is the full URL, used as it is.
    if args.endpoint is not None:
        url = args.endpoint if protocol == "grpc" else f"{args.endpoint}/v1/{signal}"
    elif (signal_env := _env(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT", environ)) is not None:
        url = validate_endpoint(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT", signal_env)
    else:
        base_env = _env("OTEL_EXPORTER_OTLP_ENDPOINT", environ)
        base = (
            validate_endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", base_env)
            if base_env is not None
            else f"http://localhost:{_DEFAULT_OTLP_PORT[protocol]}"
        )
        url = base if protocol == "grpc" else f"{base}/v1/{signal}"

    # Headers: the per-signal variable replaces the generic one (never merged: a
    # generic credential must not go to a signal's own endpoint); the argument's
    # headers are added over them, as the SDK's exporters do.
    headers_value, headers_setting = _first(
        None, "", environ, f"OTEL_EXPORTER_OTLP_{upper}_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"
    )
    resolved_headers: dict[str, str] = {}
    if headers_value is not None:
        parsed = parse_key_values(headers_setting, str(headers_value), secret=True)
        resolved_headers = {key.lower(): value for key, value in parsed.items()}
    if args.headers is not None:
        resolved_headers.update(args.headers)

    comp_value, comp_setting = _first(
        args.compression,
        "otlp_compression",
        environ,
        f"OTEL_EXPORTER_OTLP_{upper}_COMPRESSION",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
    )
    compression = _compression(comp_setting, comp_value or "none", protocol)

    # The variables are milliseconds (the spec); the argument is seconds.
    if args.timeout is not None:
        timeout = args.timeout
    else:
        timeout_value, timeout_setting = _first(
            None, "", environ, f"OTEL_EXPORTER_OTLP_{upper}_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"
        )
        timeout = (
            DEFAULT_OTLP_TIMEOUT_S
            if timeout_value is None
            else _positive_float(timeout_setting, timeout_value, scale=0.001)
        )

    return OtlpSettings(
        endpoint=url,
        protocol=protocol,
        headers=resolved_headers,
        compression=compression,
        timeout=timeout,
        insecure=url.startswith("http://"),
    )


def _has_otlp_endpoint(environ: Mapping[str, str], signal: Signal) -> bool:
    return (
        _env("OTEL_EXPORTER_OTLP_ENDPOINT", environ) is not None
        or _env(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT", environ) is not None
    )


def _resource_attributes(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            "resource_attributes", value, "expected a mapping of attribute names to values"
        )
    attrs: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key or isinstance(item, bytes) or item is None:
            raise ConfigurationError(
                "resource_attributes",
                value,
                "attribute names must be non-empty strings and values not None",
            )
        attrs[key] = str(item)
    return attrs


def requested_exporters(
    signal: Signal, environ: Mapping[str, str], *, otlp_endpoint: bool = False
) -> tuple[str, ...]:
    """The exporter names ``signal``'s variable asks for, else its default (unchecked).

    What the launcher keeps of a signal when one of its exporters cannot start.
    """
    names = _names(
        f"OTEL_{signal.upper()}_EXPORTER", _env(f"OTEL_{signal.upper()}_EXPORTER", environ)
    )
    if names is not None:
        return tuple(names)
    otlp = ("otlp",) if otlp_endpoint or _has_otlp_endpoint(environ, signal) else ()
    return ("prometheus", *otlp) if signal == "metrics" else otlp


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

    disabled = _sdk_disabled(_env("OTEL_SDK_DISABLED", env))

    # Every argument is checked, whether or not the part it configures is used.
    otlp_args = _OtlpArguments.check(
        otlp_endpoint, otlp_protocol, otlp_headers, otlp_compression, otlp_timeout
    )

    # Resource: arguments, then OTEL_SERVICE_NAME (and our variables), then
    # OTEL_RESOURCE_ATTRIBUTES, then the default.
    env_attrs: dict[str, str] = {}
    raw_attrs = _env("OTEL_RESOURCE_ATTRIBUTES", env)
    if raw_attrs is not None:
        env_attrs = parse_key_values("OTEL_RESOURCE_ATTRIBUTES", raw_attrs)
    arg_attrs = {} if resource_attributes is None else _resource_attributes(resource_attributes)
    attrs = {**env_attrs, **arg_attrs}

    def resource_value(argument: object, arg_name: str, env_name: str, key: str) -> str | None:
        return (
            _text(arg_name, argument)
            or arg_attrs.get(key)
            or _env(env_name, env)
            or env_attrs.get(key)
            or None
        )

    name = resource_value(service_name, "service_name", "OTEL_SERVICE_NAME", "service.name")
    version = resource_value(
        service_version, "service_version", "AGENTKIT_SERVICE_VERSION", "service.version"
    )
    deployment = resource_value(
        environment, "environment", "AGENTKIT_ENVIRONMENT", "deployment.environment.name"
    )

    # Exporters ----------------------------------------------------------
    overrides: dict[Signal, Protocol] = {}
    endpoint_given = otlp_args.endpoint is not None

    def default_for(signal: Signal, *extra: str) -> tuple[str, ...]:
        otlp = ("otlp",) if endpoint_given or _has_otlp_endpoint(env, signal) else ()
        return (*extra, *otlp)

    sources: dict[Signal, str] = {}

    def exporters_of(signal: Signal, argument: object, *extra: str) -> tuple[str, ...]:
        arg_name = f"{signal}_exporter"
        names = _names(arg_name, argument)
        setting = arg_name
        if names is None:
            env_name = f"OTEL_{signal.upper()}_EXPORTER"
            names = _names(env_name, _env(env_name, env))
            if names is not None:
                setting = env_name
        sources[signal] = setting
        return _exporters(signal, setting, names, default_for(signal, *extra), overrides)

    traces = exporters_of("traces", traces_exporter)
    metrics = exporters_of("metrics", metrics_exporter, "prometheus")
    logs = exporters_of("logs", logs_exporter)

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
            otlp[signal] = _otlp_for(signal, otlp_args, env, overrides.get(signal))

    # Prometheus ---------------------------------------------------------
    host_value, host_setting = _first(
        _text("prometheus_host", prometheus_host),
        "prometheus_host",
        env,
        "OTEL_EXPORTER_PROMETHEUS_HOST",
    )
    host = str(host_value or DEFAULT_PROMETHEUS_HOST)
    port_value, port_setting = _first(
        prometheus_port, "prometheus_port", env, "OTEL_EXPORTER_PROMETHEUS_PORT"
    )
    port = DEFAULT_PROMETHEUS_PORT if port_value is None else _port(port_setting, port_value)
    server_value, server_setting = _first(
        prometheus_server, "prometheus_server", env, "AGENTKIT_PROMETHEUS_SERVER"
    )
    serve = True if server_value is None else parse_bool(server_setting, server_value)  # type: ignore[arg-type]

    # Sampling -----------------------------------------------------------
    sampler_value, sampler_setting = _first(
        _text("sampler", sampler), "sampler", env, "OTEL_TRACES_SAMPLER"
    )
    arg_value, arg_setting = _first(sampler_arg, "sampler_arg", env, "OTEL_TRACES_SAMPLER_ARG")
    sampler_name, ratio = _sampler(sampler_value, arg_value, arg_setting, sampler_setting)

    # Metric export interval (the variable is milliseconds, the argument seconds)
    if metric_export_interval is not None:
        interval = _positive_float("metric_export_interval", metric_export_interval)
    elif (interval_env := _env("OTEL_METRIC_EXPORT_INTERVAL", env)) is not None:
        interval = _positive_float("OTEL_METRIC_EXPORT_INTERVAL", interval_env, scale=0.001)
    else:
        interval = DEFAULT_METRIC_EXPORT_INTERVAL_S

    # Multi-process metrics ----------------------------------------------
    if metrics_multiprocess_dir is not None and not isinstance(
        metrics_multiprocess_dir, str | os.PathLike
    ):
        raise ConfigurationError(
            "metrics_multiprocess_dir", metrics_multiprocess_dir, "expected a directory path"
        )
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
        else _positive_float(timeout_setting, timeout_value)
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
        else _positive_int(limit_setting, limit_value)
    )

    return Settings(
        service_name=name or DEFAULT_SERVICE_NAME,
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
        exporter_sources=sources,
        sampler_source=sampler_setting,
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
