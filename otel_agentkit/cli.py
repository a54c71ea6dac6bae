"""The ``otel-agentkit`` command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from collections.abc import Sequence
from typing import Any

from otel_agentkit._version import __version__
from otel_agentkit.errors import ConfigurationError


def _demo(args: argparse.Namespace) -> int:
    """Configure telemetry, emit a span and a metric, show what was exported."""
    import otel_agentkit
    from otel_agentkit import semconv

    try:
        telemetry = otel_agentkit.configure(
            args.service_name,
            otlp_endpoint=args.otlp_endpoint,
            traces_exporter=None if args.otlp_endpoint else "console",
            prometheus_port=args.port,
        )
    except ConfigurationError as exc:
        print(f"otel-agentkit demo: {exc}", file=sys.stderr)
        return 2

    from opentelemetry import metrics, trace

    tracer = trace.get_tracer(semconv.SCOPE_NAME, __version__)
    meter = metrics.get_meter(semconv.SCOPE_NAME, __version__)
    duration = meter.create_histogram(
        semconv.GEN_AI_CLIENT_OPERATION_DURATION,
        unit=semconv.UNIT_SECONDS,
        description="GenAI operation duration.",
    )
    attributes = {
        semconv.GEN_AI_OPERATION_NAME: semconv.OP_CHAT,
        semconv.GEN_AI_PROVIDER_NAME: "demo",
        semconv.GEN_AI_REQUEST_MODEL: "demo-model",
    }
    for _ in range(args.iterations):
        start = time.monotonic()
        with tracer.start_as_current_span(f"{semconv.OP_CHAT} demo-model") as span:
            span.set_attributes(attributes)
            time.sleep(0.01)
        duration.record(time.monotonic() - start, attributes)

    if telemetry.prometheus_url:
        body = urllib.request.urlopen(telemetry.prometheus_url, timeout=5).read().decode()  # noqa: S310
        wanted = semconv.prometheus_name(
            semconv.GEN_AI_CLIENT_OPERATION_DURATION, semconv.UNIT_SECONDS, suffix="count"
        )
        lines = [line for line in body.splitlines() if line.startswith(wanted)]
        print(f"scraped {telemetry.prometheus_url}:")
        print("\n".join(lines) if lines else f"  (no {wanted} yet)")
        if args.serve:
            print(f"serving {telemetry.prometheus_url} for {args.serve:g}s ...", flush=True)
            time.sleep(args.serve)
    otel_agentkit.shutdown()
    print(json.dumps({"demo": "ok", "spans": args.iterations, "service": args.service_name}))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    """Print the resolved configuration, or the configuration error."""
    from otel_agentkit.telemetry.settings import resolve_settings

    try:
        settings = resolve_settings()
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    print(f"otel-agentkit {__version__}")
    print(f"service.name: {settings.service_name}")
    print(f"traces exporters: {', '.join(settings.traces_exporters) or 'none'}")
    print(f"metrics exporters: {', '.join(settings.metrics_exporters) or 'none'}")
    print(f"logs exporters: {', '.join(settings.logs_exporters) or 'none'}")
    for signal, otlp in settings.otlp.items():
        print(f"otlp {signal}: {otlp.protocol} {otlp.endpoint} compression={otlp.compression}")
    if "prometheus" in settings.metrics_exporters:
        where = f"{settings.prometheus_host}:{settings.prometheus_port}"
        print(f"prometheus: {where}" if settings.prometheus_server else "prometheus: app-mounted")
        if settings.metrics_multiprocess_dir is not None:
            print(
                f"prometheus multi-process dir: {settings.metrics_multiprocess_dir} "
                f"(from {settings.metrics_multiprocess_dir_source})"
            )
    print(
        f"sampler: {settings.sampler}"
        + (f" ({settings.sampler_arg})" if settings.sampler_arg is not None else "")
    )
    return 0


def _serve_until_stopped() -> None:
    """Block until Ctrl-C or SIGTERM."""
    import signal
    import threading

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _fake_llm(args: argparse.Namespace) -> int:
    """Serve the fake OpenAI-compatible model server until interrupted."""
    from otel_agentkit._fakeserver import FakeModelServer

    server = FakeModelServer(
        host=args.host,
        port=args.port,
        latency=args.latency,
        chunk_latency=args.chunk_latency,
        models=args.models.split(",") if args.models else None,
    )
    try:
        server.start()
    except OSError as exc:
        print(
            f"otel-agentkit fake-llm: cannot listen on {args.host}:{args.port}: "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    print(f"fake model server: OPENAI_BASE_URL={server.base_url} (Ctrl-C to stop)", flush=True)
    try:
        _serve_until_stopped()
    finally:
        server.stop()
    return 0


def _write(text: str, out: str | None, what: str) -> None:
    """Write ``text`` to ``out`` (creating parent folders) or to stdout."""
    if out is None or out == "-":
        sys.stdout.write(text)
        return
    from pathlib import Path

    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {what} to {path}", file=sys.stderr)


def _thresholds(args: argparse.Namespace) -> Any:
    from dataclasses import fields

    from otel_agentkit.ops.alerts import AlertThresholds

    return AlertThresholds(**{f.name: getattr(args, f.name) for f in fields(AlertThresholds)})


def _dashboard(args: argparse.Namespace) -> int:
    """Write the Grafana dashboard JSON."""
    from otel_agentkit.ops.dashboards import render_dashboard

    _write(
        render_dashboard(datasource=args.datasource, traces_url=args.traces_url),
        args.out,
        "the Grafana dashboard",
    )
    return 0


def _alerts(args: argparse.Namespace) -> int:
    """Write the Prometheus recording and alerting rules."""
    from otel_agentkit.ops.alerts import render_rules

    _write(render_rules(_thresholds(args)), args.out, "Prometheus rules")
    return 0


def _stack(args: argparse.Namespace) -> int:
    """Write the local stack (compose, configs, Kubernetes manifests)."""
    from otel_agentkit.ops.stack import StackOptions, write_stack

    options = StackOptions(
        service=args.service, app_target=args.app_target, thresholds=_thresholds(args)
    )
    for path in write_stack(args.out, options):
        print(path)
    print(f"start it with: docker compose -f {args.out}/docker-compose.yaml up -d", file=sys.stderr)
    return 0


def _add_threshold_flags(parser: argparse.ArgumentParser) -> None:
    from dataclasses import fields

    from otel_agentkit.ops.alerts import AlertThresholds

    help_text = AlertThresholds.field_help()
    for f in fields(AlertThresholds):
        default: float = f.default  # type: ignore[assignment]
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            type=type(default),
            default=default,
            metavar="N",
            help=f"{help_text[f.name]} (default {default:,.0f})"
            if float(default).is_integer()
            else f"{help_text[f.name]} (default {default})",
        )


def _clear_metrics_dir(args: argparse.Namespace) -> int:
    """Delete the multi-process metric state files (before the server starts)."""
    from otel_agentkit.telemetry import clear_multiprocess_dir
    from otel_agentkit.telemetry.settings import resolve_settings

    directory = args.directory
    try:
        if directory is None:
            directory = resolve_settings(metrics_exporter="prometheus").metrics_multiprocess_dir
            if directory is None:
                print(
                    "configuration error: no directory given and neither "
                    "AGENTKIT_METRICS_MULTIPROC_DIR nor PROMETHEUS_MULTIPROC_DIR is set",
                    file=sys.stderr,
                )
                return 2
        removed = clear_multiprocess_dir(directory)
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    print(f"removed {removed} metric state file{'s' * (removed != 1)} from {directory}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``otel-agentkit``."""
    parser = argparse.ArgumentParser(
        prog="otel-agentkit", description="OpenTelemetry for LLM and agent applications."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="emit a span and a metric and show the /metrics scrape")
    demo.add_argument("--service-name", default="agentkit-demo")
    demo.add_argument("--otlp-endpoint", default=None, help="also export over OTLP to this URL")
    demo.add_argument("--port", type=int, default=None, help="Prometheus port (default 9464)")
    demo.add_argument("--iterations", type=int, default=3)
    demo.add_argument(
        "--serve", type=float, default=0.0, help="keep serving /metrics for N seconds"
    )
    demo.set_defaults(func=_demo)

    fake = sub.add_parser(
        "fake-llm", help="serve a fake OpenAI-compatible model (deterministic, offline)"
    )
    fake.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    fake.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    fake.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    fake.add_argument(
        "--chunk-latency", type=float, default=0.0, help="seconds between streamed events"
    )
    fake.add_argument(
        "--models", default=None, help="comma-separated models to serve (default: any)"
    )
    fake.set_defaults(func=_fake_llm)

    doctor = sub.add_parser("doctor", help="show the configuration the environment resolves to")
    doctor.set_defaults(func=_doctor)

    clear = sub.add_parser(
        "clear-metrics-dir",
        help="delete the multi-process metric state files; run before starting the server",
    )
    clear.add_argument(
        "directory",
        nargs="?",
        default=None,
        help="default: AGENTKIT_METRICS_MULTIPROC_DIR, else PROMETHEUS_MULTIPROC_DIR",
    )
    clear.set_defaults(func=_clear_metrics_dir)

    from otel_agentkit.ops import dashboards, stack

    dashboard = sub.add_parser("dashboard", help="write the Grafana dashboard JSON")
    dashboard.add_argument("--out", default=None, help="file to write (default: stdout)")
    dashboard.add_argument(
        "--datasource",
        default=dashboards.DEFAULT_DATASOURCE,
        help="name of the Prometheus datasource selected by default "
        f"(default {dashboards.DEFAULT_DATASOURCE!r})",
    )
    dashboard.add_argument(
        "--traces-url",
        default=dashboards.DEFAULT_TRACES_URL,
        help=f"Jaeger UI base URL for trace links (default {dashboards.DEFAULT_TRACES_URL})",
    )
    dashboard.set_defaults(func=_dashboard)

    alerts = sub.add_parser("alerts", help="write Prometheus alerting and recording rules")
    alerts.add_argument("--out", default=None, help="file to write (default: stdout)")
    _add_threshold_flags(alerts)
    alerts.set_defaults(func=_alerts)

    stack_cmd = sub.add_parser(
        "stack", help="write a local Jaeger/Prometheus/Alertmanager/Grafana stack"
    )
    stack_cmd.add_argument("--out", default="deploy", help="directory (default: ./deploy)")
    stack_cmd.add_argument(
        "--service",
        default=stack.DEFAULT_SERVICE,
        help="scrape job name for the app; use its service.name "
        f"(default {stack.DEFAULT_SERVICE!r})",
    )
    stack_cmd.add_argument(
        "--app-target",
        default=stack.DEFAULT_APP_TARGET,
        help=f"host:port Prometheus scrapes (default {stack.DEFAULT_APP_TARGET})",
    )
    _add_threshold_flags(stack_cmd)
    stack_cmd.set_defaults(func=_stack)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
