"""Settings resolution: precedence, defaults and every bad-configuration message."""

from __future__ import annotations

import pytest

from otel_agentkit import ConfigurationError
from otel_agentkit.telemetry.settings import resolve_settings


def test_defaults_without_env() -> None:
    s = resolve_settings(environ={})
    assert s.service_name == "unknown_service:python"
    assert s.traces_exporters == ()
    assert s.metrics_exporters == ("prometheus",)
    assert s.logs_exporters == ()
    assert (s.prometheus_host, s.prometheus_port, s.prometheus_server) == ("127.0.0.1", 9464, True)
    assert s.sampler == "parentbased_always_on"
    assert s.metric_export_interval == 60.0
    assert s.otlp == {}


def test_endpoint_turns_on_otlp_for_every_signal() -> None:
    s = resolve_settings(otlp_endpoint="http://collector:4318/", environ={})
    assert s.traces_exporters == ("otlp",)
    assert s.metrics_exporters == ("prometheus", "otlp")
    assert s.logs_exporters == ("otlp",)
    assert s.otlp["traces"].endpoint == "http://collector:4318/v1/traces"
    assert s.otlp["logs"].endpoint == "http://collector:4318/v1/logs"
    assert s.otlp["traces"].protocol == "http/protobuf"


def test_grpc_endpoint_has_no_signal_path() -> None:
    s = resolve_settings(otlp_endpoint="https://collector:4317", otlp_protocol="grpc", environ={})
    assert s.otlp["traces"].endpoint == "https://collector:4317"
    assert s.otlp["traces"].insecure is False


def test_env_fills_gaps_and_arguments_win() -> None:
    env = {
        "OTEL_SERVICE_NAME": "from-env",
        "OTEL_RESOURCE_ATTRIBUTES": (
            "team=agents,service.version=1.2.3,deployment.environment.name=stg"
        ),
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20abc,x-tenant=t1",
        "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
        "OTEL_TRACES_EXPORTER": "otlp,console",
        "OTEL_METRICS_EXPORTER": "prometheus",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_EXPORTER_PROMETHEUS_HOST": "0.0.0.0",
        "OTEL_EXPORTER_PROMETHEUS_PORT": "9999",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.25",
        "OTEL_METRIC_EXPORT_INTERVAL": "5000",
        "AGENTKIT_ENVIRONMENT": "prod",
    }
    s = resolve_settings(environ=env)
    assert s.service_name == "from-env"
    assert s.service_version == "1.2.3"
    assert s.environment == "prod"  # AGENTKIT_ENVIRONMENT beats the resource attribute
    assert s.resource_attributes["team"] == "agents"
    assert s.traces_exporters == ("otlp", "console")
    assert s.metrics_exporters == ("prometheus",)
    assert s.logs_exporters == ()
    assert s.otlp["traces"].headers == {"authorization": "Bearer abc", "x-tenant": "t1"}
    assert s.otlp["traces"].compression == "gzip"
    assert (s.prometheus_host, s.prometheus_port) == ("0.0.0.0", 9999)
    assert (s.sampler, s.sampler_arg) == ("parentbased_traceidratio", 0.25)
    assert s.metric_export_interval == 5.0

    s = resolve_settings(
        "from-arg",
        environment="dev",
        traces_exporter="console",
        prometheus_port=1234,
        sampler="always_off",
        otlp_endpoint="http://arg:4318",
        metric_export_interval=2,
        environ=env,
    )
    assert s.service_name == "from-arg"
    assert s.environment == "dev"
    assert s.traces_exporters == ("console",)
    assert s.prometheus_port == 1234
    assert (s.sampler, s.sampler_arg) == ("always_off", None)
    assert s.metric_export_interval == 2.0


def test_per_signal_endpoint_used_as_is_and_explicit_argument_wins() -> None:
    env = {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/custom/path",
    }
    assert resolve_settings(environ=env).otlp["traces"].endpoint == "http://traces:4318/custom/path"
    s = resolve_settings(otlp_endpoint="http://arg:4318", environ=env)
    assert s.otlp["traces"].endpoint == "http://arg:4318/v1/traces"


def test_launcher_exporter_aliases_select_protocol() -> None:
    s = resolve_settings(environ={"OTEL_TRACES_EXPORTER": "otlp_proto_grpc"})
    assert s.traces_exporters == ("otlp",)
    assert s.otlp["traces"].protocol == "grpc"
    assert s.otlp["traces"].endpoint == "http://localhost:4317"


def test_sdk_disabled_exports_nothing() -> None:
    s = resolve_settings(otlp_endpoint="http://x:4318", environ={"OTEL_SDK_DISABLED": "true"})
    assert s.disabled
    assert (s.traces_exporters, s.metrics_exporters, s.logs_exporters) == ((), (), ())


@pytest.mark.parametrize(
    ("kwargs", "env", "expected"),
    [
        (
            {},
            {"OTEL_TRACES_EXPORTER": "jaeger"},
            "OTEL_TRACES_EXPORTER='jaeger': unknown traces exporter",
        ),
        ({"metrics_exporter": "statsd"}, {}, "metrics_exporter='statsd': unknown metrics exporter"),
        (
            {},
            {"OTEL_LOGS_EXPORTER": "prometheus"},
            "OTEL_LOGS_EXPORTER='prometheus': unknown logs exporter",
        ),
        ({"traces_exporter": "none,console"}, {}, "'none' cannot be combined"),
        (
            {"otlp_endpoint": "localhost:4317"},
            {},
            "otlp_endpoint='localhost:4317': expected a URL with an http:// or https:// scheme",
        ),
        ({"otlp_endpoint": "http://"}, {}, "otlp_endpoint='http://': the URL has no host"),
        (
            {"otlp_endpoint": "http://host:99999"},
            {},
            "otlp_endpoint='http://host:99999': malformed URL",
        ),
        (
            {},
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://x"},
            "OTEL_EXPORTER_OTLP_ENDPOINT='ftp://x': expected a URL",
        ),
        (
            {},
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://h:abc"},
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT='http://h:abc': malformed URL",
        ),
        (
            {"otlp_endpoint": "http://x:1", "otlp_protocol": "http/json"},
            {},
            "otlp_protocol='http/json': unknown OTLP protocol; expected grpc or "
            "http/protobuf (http/json is not supported",
        ),
        (
            {"otlp_endpoint": "http://x:1"},
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"},
            "OTEL_EXPORTER_OTLP_PROTOCOL='thrift': unknown OTLP protocol",
        ),
        (
            {"otlp_endpoint": "http://x:1", "otlp_compression": "zstd"},
            {},
            "otlp_compression='zstd': unknown compression",
        ),
        (
            {"otlp_endpoint": "http://x:1", "otlp_protocol": "grpc", "otlp_compression": "deflate"},
            {},
            "otlp_compression='deflate': unknown compression; expected gzip or none",
        ),
        (
            {},
            {"OTEL_EXPORTER_PROMETHEUS_PORT": "http"},
            "OTEL_EXPORTER_PROMETHEUS_PORT='http': expected an integer port",
        ),
        ({"prometheus_port": 70000}, {}, "prometheus_port=70000: port must be between 0 and 65535"),
        (
            {},
            {"OTEL_TRACES_SAMPLER": "sometimes"},
            "OTEL_TRACES_SAMPLER='sometimes': unknown sampler",
        ),
        (
            {},
            {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"},
            "OTEL_TRACES_SAMPLER_ARG='half': expected a number between 0 and 1",
        ),
        (
            {"sampler": "traceidratio", "sampler_arg": 1.5},
            {},
            "sampler_arg=1.5: sampling ratio must be between 0 and 1",
        ),
        (
            {},
            {"OTEL_METRIC_EXPORT_INTERVAL": "-5"},
            "OTEL_METRIC_EXPORT_INTERVAL='-5': expected a positive number",
        ),
        (
            {},
            {"AGENTKIT_PROMETHEUS_SERVER": "sure"},
            "AGENTKIT_PROMETHEUS_SERVER='sure': expected true or false",
        ),
        (
            {},
            {"OTEL_RESOURCE_ATTRIBUTES": "a=1,oops"},
            "OTEL_RESOURCE_ATTRIBUTES='a=1,oops': entry 2 is not of the form key=value",
        ),
    ],
)
def test_bad_configuration_names_setting_and_value(
    kwargs: dict[str, object], env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_settings(**kwargs, environ=env)  # type: ignore[arg-type]
    assert expected in str(info.value)
    assert isinstance(info.value, ValueError)


def test_malformed_headers_never_echo_the_secret() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318",
        "OTEL_EXPORTER_OTLP_HEADERS": "Bearer sk-secret",
    }
    with pytest.raises(ConfigurationError) as info:
        resolve_settings(environ=env)
    message = str(info.value)
    assert message.startswith("OTEL_EXPORTER_OTLP_HEADERS=<redacted>: entry 1 is not of the form")
    assert "sk-secret" not in message
    assert info.value.value is None


def test_credentials_in_endpoint_are_rejected_without_echo() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_settings(otlp_endpoint="https://user:hunter2@collector:4318", environ={})
    assert "hunter2" not in str(info.value)
    assert "pass them as headers" in str(info.value)


@pytest.mark.parametrize(
    ("raw", "disabled", "warns"),
    [
        ("true", True, False),
        ("TRUE", True, False),
        (" True ", True, False),
        ("false", False, False),
        ("", False, False),
        ("1", False, True),  # the specification's true is "true" only
        ("yes", False, True),
        ("maybe", False, True),
    ],
)
def test_sdk_disabled_is_true_only_for_true(
    raw: str, disabled: bool, warns: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="otel_agentkit"):
        settings = resolve_settings(environ={"OTEL_SDK_DISABLED": raw})
    assert settings.disabled is disabled
    assert ("OTEL_SDK_DISABLED" in caplog.text) is warns
