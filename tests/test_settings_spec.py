"""Settings as the OpenTelemetry specification orders them.

Each rule the spec (or the SDK, where the spec leaves it open) orders is a row
here, with literal variable names and values: an empty variable is unset,
the per-signal variable beats the generic one, the argument beats both,
``OTEL_EXPORTER_OTLP_TIMEOUT`` and ``OTEL_METRIC_EXPORT_INTERVAL`` are
milliseconds, ``OTEL_SERVICE_NAME`` beats ``service.name`` in
``OTEL_RESOURCE_ATTRIBUTES``. The last tests check that what the settings say
is what the exporters are built with.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from otel_agentkit import ConfigurationError
from otel_agentkit.telemetry.settings import Settings, resolve_settings

SIGNALS = ("traces", "metrics", "logs")

# ---------------------------------------------------------------------------
# An empty variable is the same as an unset one
# ---------------------------------------------------------------------------

#: Every variable the settings read; each set to "" must resolve like no variable at all.
VARIABLES = [
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "AGENTKIT_SERVICE_VERSION",
    "AGENTKIT_ENVIRONMENT",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_PROMETHEUS_HOST",
    "OTEL_EXPORTER_PROMETHEUS_PORT",
    "AGENTKIT_PROMETHEUS_SERVER",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "AGENTKIT_METRICS_MULTIPROC_DIR",
    "PROMETHEUS_MULTIPROC_DIR",
    "AGENTKIT_SHUTDOWN_TIMEOUT",
    "AGENTKIT_METRICS_CARDINALITY_LIMIT",
    *(f"OTEL_EXPORTER_OTLP_{s.upper()}_{k}" for s in SIGNALS for k in ("ENDPOINT",)),
    *(
        f"OTEL_EXPORTER_OTLP_{s.upper()}_{k}"
        for s in SIGNALS
        for k in ("PROTOCOL", "HEADERS", "COMPRESSION", "TIMEOUT")
    ),
]

#: A base environment under which every variable above matters.
BASE = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}


@pytest.mark.parametrize("value", ["", "   "])
@pytest.mark.parametrize("name", VARIABLES)
def test_an_empty_variable_is_unset(name: str, value: str) -> None:
    assert resolve_settings(environ={**BASE, name: value}) == resolve_settings(environ=BASE)


def test_an_empty_generic_endpoint_is_unset() -> None:
    s = resolve_settings(environ={"OTEL_EXPORTER_OTLP_ENDPOINT": ""})
    assert s.traces_exporters == ()
    assert s.otlp == {}


def test_empty_exporter_variable_keeps_the_default_exporters() -> None:
    """The issue's first case: ``OTEL_TRACES_EXPORTER=""`` must not turn OTLP traces off."""
    s = resolve_settings(environ={**BASE, "OTEL_TRACES_EXPORTER": "", "OTEL_LOGS_EXPORTER": " "})
    assert s.traces_exporters == ("otlp",)
    assert s.logs_exporters == ("otlp",)
    assert s.otlp["traces"].endpoint == "http://collector:4318/v1/traces"


def test_empty_prometheus_port_is_the_default_port() -> None:
    s = resolve_settings(environ={"OTEL_EXPORTER_PROMETHEUS_PORT": ""})
    assert s.prometheus_port == 9464


def test_an_empty_per_signal_variable_falls_back_to_the_generic_one() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://generic:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "",
        "OTEL_EXPORTER_OTLP_HEADERS": "x-generic=1",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "",
        "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "",
    }
    traces = resolve_settings(environ=env).otlp["traces"]
    assert traces.endpoint == "http://generic:4318"
    assert traces.protocol == "grpc"
    assert dict(traces.headers) == {"x-generic": "1"}
    assert traces.timeout == 2.5
    assert traces.compression == "gzip"


@pytest.mark.parametrize("argument", ["traces_exporter", "sampler", "service_name"])
def test_an_empty_argument_is_unset(argument: str) -> None:
    env = {**BASE, "OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "svc"}
    assert resolve_settings(**{argument: ""}, environ=env) == resolve_settings(environ=env)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Per-signal beats generic; the argument beats both
# ---------------------------------------------------------------------------


def _otlp(env: dict[str, str], signal: str = "traces", **kwargs: Any) -> Any:
    env = {f"OTEL_{s.upper()}_EXPORTER": "otlp" for s in SIGNALS} | env
    return resolve_settings(**kwargs, environ=env).otlp[signal]  # type: ignore[index]


@pytest.mark.parametrize("signal", SIGNALS)
def test_endpoint_precedence(signal: str) -> None:
    upper = signal.upper()
    generic = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://generic:4318/base/"}
    per_signal = {f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT": "http://own:9999/custom"}
    other = next(s for s in SIGNALS if s != signal).upper()
    others = {f"OTEL_EXPORTER_OTLP_{other}_ENDPOINT": "http://other:1/x"}

    # generic only: the signal's path is appended to the base URL
    assert _otlp(generic, signal).endpoint == f"http://generic:4318/base/v1/{signal}"
    # per-signal only: used as it is, no path added
    assert _otlp(per_signal, signal).endpoint == "http://own:9999/custom"
    # both: per-signal wins, for its signal only
    assert _otlp(generic | per_signal, signal).endpoint == "http://own:9999/custom"
    assert _otlp(generic | others, signal).endpoint == f"http://generic:4318/base/v1/{signal}"
    # the argument (a base URL) wins over both
    assert (
        _otlp(generic | per_signal, signal, otlp_endpoint="http://arg:4318").endpoint
        == f"http://arg:4318/v1/{signal}"
    )
    # neither: the default port of the protocol
    assert _otlp({}, signal).endpoint == f"http://localhost:4318/v1/{signal}"
    grpc = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    assert _otlp(grpc, signal).endpoint == "http://localhost:4317"
    assert _otlp(grpc | generic, signal).endpoint == "http://generic:4318/base"


@pytest.mark.parametrize("signal", SIGNALS)
def test_headers_precedence(signal: str) -> None:
    upper = signal.upper()
    generic = {"OTEL_EXPORTER_OTLP_HEADERS": "Authorization=generic-token,x-tenant=t1"}
    per_signal = {f"OTEL_EXPORTER_OTLP_{upper}_HEADERS": "x-own=yes"}

    assert dict(_otlp(generic, signal).headers) == {
        "authorization": "generic-token",
        "x-tenant": "t1",
    }
    # The per-signal variable replaces the generic one, as the SDK's exporters
    # do: the generic credential is not sent to the signal's own endpoint.
    assert dict(_otlp(generic | per_signal, signal).headers) == {"x-own": "yes"}
    # The argument's headers go over what the variables give.
    headers = _otlp(
        generic | per_signal, signal, otlp_headers={"X-Own": "arg", "x-arg": "1"}
    ).headers
    assert dict(headers) == {"x-own": "arg", "x-arg": "1"}
    assert dict(_otlp(generic, signal, otlp_headers={"x-arg": "1"}).headers) == {
        "authorization": "generic-token",
        "x-tenant": "t1",
        "x-arg": "1",
    }


@pytest.mark.parametrize("signal", SIGNALS)
def test_timeout_is_milliseconds_and_per_signal_wins(signal: str) -> None:
    upper = signal.upper()
    generic = {"OTEL_EXPORTER_OTLP_TIMEOUT": "2500"}
    per_signal = {f"OTEL_EXPORTER_OTLP_{upper}_TIMEOUT": "750"}
    assert _otlp({}, signal).timeout == 10.0
    assert _otlp(generic, signal).timeout == 2.5
    assert _otlp(per_signal, signal).timeout == 0.75
    assert _otlp(generic | per_signal, signal).timeout == 0.75
    # the argument is seconds and wins over both
    assert _otlp(generic | per_signal, signal, otlp_timeout=3).timeout == 3.0


@pytest.mark.parametrize("signal", SIGNALS)
def test_protocol_and_compression_precedence(signal: str) -> None:
    upper = signal.upper()
    generic = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}
    per_signal = {
        f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL": "http/protobuf",
        f"OTEL_EXPORTER_OTLP_{upper}_COMPRESSION": "deflate",
    }
    assert (_otlp({}, signal).protocol, _otlp({}, signal).compression) == ("http/protobuf", "none")
    both = _otlp(generic, signal)
    assert (both.protocol, both.compression) == ("grpc", "gzip")
    own = _otlp(generic | per_signal, signal)
    assert (own.protocol, own.compression) == ("http/protobuf", "deflate")
    arg = _otlp(generic | per_signal, signal, otlp_protocol="grpc", otlp_compression="none")
    assert (arg.protocol, arg.compression) == ("grpc", "none")


def test_an_exporter_name_that_says_its_protocol_wins_for_its_signal() -> None:
    env = {
        "OTEL_TRACES_EXPORTER": "otlp_proto_grpc",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    }
    s = resolve_settings(environ=env)
    assert s.otlp["traces"].protocol == "grpc"
    assert s.otlp["traces"].endpoint == "http://localhost:4317"
    assert s.otlp["logs"].protocol == "http/protobuf"


def test_metric_export_interval_is_milliseconds_and_the_argument_seconds() -> None:
    assert resolve_settings(environ={}).metric_export_interval == 60.0
    env = {"OTEL_METRIC_EXPORT_INTERVAL": "1500"}
    assert resolve_settings(environ=env).metric_export_interval == 1.5
    assert resolve_settings(metric_export_interval=4, environ=env).metric_export_interval == 4.0


# ---------------------------------------------------------------------------
# Resource: service.name and friends
# ---------------------------------------------------------------------------


def _resource(env: dict[str, str], **kwargs: Any) -> tuple[str, str | None, str | None]:
    s = resolve_settings(**kwargs, environ=env)
    return s.service_name, s.service_version, s.environment


def test_service_name_precedence() -> None:
    attrs = {"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs,team=a"}
    name = {"OTEL_SERVICE_NAME": "from-name"}
    assert _resource({})[0] == "unknown_service:python"
    assert _resource(attrs)[0] == "from-attrs"
    assert _resource(name)[0] == "from-name"
    # OTEL_SERVICE_NAME beats service.name in OTEL_RESOURCE_ATTRIBUTES (the spec)
    assert _resource(attrs | name)[0] == "from-name"
    # arguments beat variables: service_name, then resource_attributes' service.name
    assert _resource(attrs | name, resource_attributes={"service.name": "arg-attrs"})[0] == (
        "arg-attrs"
    )
    assert (
        _resource(
            attrs | name,
            service_name="arg",
            resource_attributes={"service.name": "arg-attrs"},
        )[0]
        == "arg"
    )


def test_version_and_environment_precedence() -> None:
    attrs = {
        "OTEL_RESOURCE_ATTRIBUTES": "service.version=1-attrs,deployment.environment.name=attrs"
    }
    ours = {"AGENTKIT_SERVICE_VERSION": "2-env", "AGENTKIT_ENVIRONMENT": "env"}
    assert _resource({})[1:] == (None, None)
    assert _resource(attrs)[1:] == ("1-attrs", "attrs")
    assert _resource(attrs | ours)[1:] == ("2-env", "env")
    assert _resource(
        attrs | ours,
        resource_attributes={"service.version": "3-arg", "deployment.environment.name": "arg"},
    )[1:] == ("3-arg", "arg")
    assert _resource(attrs | ours, service_version="4", environment="dev")[1:] == ("4", "dev")


def test_the_built_resource_follows_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Resource.create`` reads the variables again; what the settings chose still wins."""
    from otel_agentkit.telemetry._setup import build_resource

    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,team=a")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-name")
    resource = build_resource(resolve_settings())
    assert resource.attributes["service.name"] == "from-name"
    assert resource.attributes["team"] == "a"


# ---------------------------------------------------------------------------
# Every bad argument raises one ConfigurationError naming it, OTLP used or not
# ---------------------------------------------------------------------------

BAD_ARGUMENTS = [
    ({"otlp_protocol": "udp"}, "otlp_protocol='udp': unknown OTLP protocol"),
    ({"otlp_protocol": 4317}, "otlp_protocol=4317: unknown OTLP protocol"),
    ({"otlp_compression": "zip"}, "otlp_compression='zip': unknown compression"),
    (
        {"otlp_protocol": "grpc", "otlp_compression": "deflate"},
        "otlp_compression='deflate': unknown compression; expected gzip or none",
    ),
    ({"otlp_headers": "garbage"}, "otlp_headers=<redacted>: expected a mapping"),
    ({"otlp_headers": "api-key=abc"}, "otlp_headers=<redacted>: expected a mapping"),
    ({"otlp_headers": {"api-key": 5}}, "otlp_headers=<redacted>: header names and values"),
    ({"otlp_timeout": -1}, "otlp_timeout=-1: expected a positive number"),
    ({"otlp_timeout": 0}, "otlp_timeout=0: expected a positive number"),
    ({"otlp_timeout": "soon"}, "otlp_timeout='soon': expected a number"),
    ({"otlp_timeout": True}, "otlp_timeout=True: expected a number"),
    ({"otlp_endpoint": 4317}, "otlp_endpoint=4317: expected a URL string"),
    ({"service_name": 7}, "service_name=7: expected a string"),
    ({"service_version": 1.2}, "service_version=1.2: expected a string"),
    ({"environment": ["prod"]}, "environment=['prod']: expected a string"),
    ({"resource_attributes": "a=b"}, "resource_attributes='a=b': expected a mapping"),
    ({"resource_attributes": {"": "x"}}, "resource_attributes={'': 'x'}: attribute names"),
    ({"traces_exporter": 3}, "traces_exporter=3: expected a name"),
    ({"metrics_exporter": ["prometheus", None]}, "metrics_exporter=['prometheus', None]"),
    ({"logs_exporter": "jaeger"}, "logs_exporter='jaeger': unknown logs exporter"),
    ({"prometheus_host": 127}, "prometheus_host=127: expected a string"),
    ({"prometheus_port": True}, "prometheus_port=True: expected an integer port"),
    ({"prometheus_port": 9464.5}, "prometheus_port=9464.5: expected an integer port"),
    ({"prometheus_port": -1}, "prometheus_port=-1: port must be between 0 and 65535"),
    ({"prometheus_server": "maybe"}, "prometheus_server='maybe': expected true or false"),
    ({"prometheus_server": 2}, "prometheus_server=2: expected true or false"),
    ({"sampler": "sometimes"}, "sampler='sometimes': unknown sampler"),
    ({"sampler": 1}, "sampler=1: expected a string"),
    (
        {"sampler": "traceidratio", "sampler_arg": True},
        "sampler_arg=True: expected a number between 0 and 1",
    ),
    ({"metric_export_interval": 0}, "metric_export_interval=0: expected a positive number"),
    ({"metric_export_interval": float("inf")}, "metric_export_interval=inf: expected a positive"),
    ({"metrics_multiprocess_dir": 5}, "metrics_multiprocess_dir=5: expected a directory path"),
    ({"shutdown_timeout": 0}, "shutdown_timeout=0: expected a positive number"),
    ({"metrics_cardinality_limit": 2.5}, "metrics_cardinality_limit=2.5: expected a positive"),
    ({"metrics_cardinality_limit": True}, "metrics_cardinality_limit=True: expected a positive"),
]


@pytest.mark.parametrize(("kwargs", "expected"), BAD_ARGUMENTS)
def test_a_bad_argument_raises_one_configuration_error_naming_it(
    kwargs: dict[str, Any], expected: str
) -> None:
    """No endpoint is set: the OTLP arguments are checked all the same."""
    with pytest.raises(ConfigurationError) as info:
        resolve_settings(**kwargs, environ={})
    assert str(info.value).startswith(expected), str(info.value)
    assert info.value.setting == expected.split("=")[0]


def test_header_values_are_never_echoed() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_settings(
            otlp_endpoint="http://x:4318", otlp_headers="api-key=sk-live-123", environ={}
        )
    assert "sk-live-123" not in str(info.value)
    assert info.value.value is None


def test_configure_raises_the_same_error_and_installs_nothing() -> None:
    import otel_agentkit

    with pytest.raises(ConfigurationError, match=r"^otlp_protocol='udp'"):
        otel_agentkit.configure(otlp_protocol="udp", prometheus_server=False)
    assert otel_agentkit.get_telemetry() is None


# ---------------------------------------------------------------------------
# Exporter and sampler names through the SDK's entry points
# ---------------------------------------------------------------------------


def test_an_exporter_another_package_registers_is_accepted_and_built() -> None:
    """``opentelemetry-exporter-zipkin-json`` registers ``zipkin_json``, as the SDK finds it."""
    from opentelemetry.exporter.zipkin.json import ZipkinExporter

    from otel_agentkit.telemetry._setup import build

    s = resolve_settings(environ={"OTEL_TRACES_EXPORTER": "zipkin_json,console"})
    assert s.traces_exporters == ("zipkin_json", "console")
    built = build(s)
    assert [type(e).__name__ for e in built.span_exporters] == [
        ZipkinExporter.__name__,
        "ConsoleSpanExporter",
    ]
    built.tracer_provider.shutdown()
    built.meter_provider.shutdown()


def test_a_metric_reader_from_an_entry_point_becomes_a_reader() -> None:
    """The SDK registers ``prometheus`` as a MetricReader: a name we also build ourselves;
    ``console`` as a MetricExporter. Only names nothing provides are refused."""
    with pytest.raises(ConfigurationError) as info:
        resolve_settings(environ={"OTEL_METRICS_EXPORTER": "statsd"})
    message = str(info.value)
    assert message.startswith("OTEL_METRICS_EXPORTER='statsd': unknown metrics exporter")
    # the names that would work: ours, then the SDK's and other packages' entry points
    assert "expected one of console, none, otlp, prometheus, or one installed packages " in message
    assert "otlp_proto_grpc" in message


def _plugin(tmp_path: Path, entry_points: str, module: str) -> Path:
    """A distribution on ``sys.path`` that registers entry points, as a package install does."""
    dist = tmp_path / "agentkit_test_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: agentkit-test-plugin\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    (tmp_path / "agentkit_test_plugin.py").write_text(textwrap.dedent(module))
    return tmp_path


PLUGIN_ENTRY_POINTS = """
    [opentelemetry_traces_sampler]
    every_other = agentkit_test_plugin:every_other
    not_a_sampler = agentkit_test_plugin:not_a_sampler

    [opentelemetry_logs_exporter]
    wrong_kind = agentkit_test_plugin:NotAnExporter
    """
PLUGIN_MODULE = """
    from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

    def every_other(arg):
        return TraceIdRatioBased(0.5 if arg is None else float(arg))

    def not_a_sampler(arg):
        return "always"

    class NotAnExporter:
        pass
    """


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(_plugin(tmp_path, PLUGIN_ENTRY_POINTS, PLUGIN_MODULE)))
    yield
    sys.modules.pop("agentkit_test_plugin", None)


@pytest.mark.usefixtures("plugin")
def test_a_sampler_another_package_registers_gets_its_argument_as_given() -> None:
    from otel_agentkit.telemetry._setup import build_sampler

    s = resolve_settings(
        environ={"OTEL_TRACES_SAMPLER": "every_other", "OTEL_TRACES_SAMPLER_ARG": "0.25"}
    )
    assert (s.sampler, s.sampler_arg) == ("every_other", "0.25")
    sampler = build_sampler(s)
    assert sampler.get_description() == "TraceIdRatioBased{0.25}"
    s = resolve_settings(sampler="every_other", environ={})
    assert build_sampler(s).get_description() == "TraceIdRatioBased{0.5}"


@pytest.mark.usefixtures("plugin")
def test_a_broken_registration_is_a_configuration_error() -> None:
    from otel_agentkit.telemetry._setup import build, build_sampler

    s = resolve_settings(environ={"OTEL_TRACES_SAMPLER": "not_a_sampler"})
    with pytest.raises(ConfigurationError, match=r"^OTEL_TRACES_SAMPLER='not_a_sampler': "):
        build_sampler(s)
    s = resolve_settings(logs_exporter="wrong_kind", environ={})
    with pytest.raises(
        ConfigurationError, match=r"^logs_exporter='wrong_kind': .* not a LogRecordExporter"
    ):
        build(s)


def test_unknown_sampler_lists_what_would_work() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_settings(environ={"OTEL_TRACES_SAMPLER": "sometimes"})
    assert "expected one of always_off, always_on, parentbased_always_off," in str(info.value)


# ---------------------------------------------------------------------------
# What the exporters are built with is what the settings say
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_exporters_get_the_resolved_values(protocol: str) -> None:
    from otel_agentkit.telemetry._setup import _otlp_kwargs

    env = {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://generic:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://own:4317/t",
        "OTEL_EXPORTER_OTLP_HEADERS": "authorization=generic",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-own=1",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "9000",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "1250",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip",
    }
    settings: Settings = resolve_settings(environ=env)
    kwargs = _otlp_kwargs(settings.otlp["traces"])
    assert kwargs["endpoint"] == "https://own:4317/t"
    assert kwargs["headers"] == {"x-own": "1"}
    assert kwargs["timeout"] == 1.25
    assert kwargs["compression"].name.lower() == "gzip"
    if protocol == "grpc":
        assert kwargs["insecure"] is False
