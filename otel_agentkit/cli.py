"""The ``otel-agentkit`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from otel_agentkit._stopping import serve_until_stopped, stop_on_sigterm
from otel_agentkit._version import __version__
from otel_agentkit.errors import ConfigurationError


def _demo(args: argparse.Namespace) -> int:
    """Run the demo agent offline and show its traces, logs and metrics."""
    from otel_agentkit.demo import DemoOptions, run

    return run(
        DemoOptions(
            requests=args.requests,
            service_name=args.service_name,
            port=args.port,
            otlp_endpoint=args.otlp_endpoint,
            model_url=args.model_url,
            model=args.model,
            embedding_model=args.embedding_model,
            model_latency=args.model_latency,
            log_file=args.log_file,
            serve=args.serve,
            json=args.json,
        )
    )


def _doctor(args: argparse.Namespace) -> int:
    """Check the environment; exit 1 when something is broken."""
    import json

    from otel_agentkit import doctor

    findings = doctor.diagnose(probe=not args.offline)
    if args.json:
        print(json.dumps(doctor.to_json(findings), indent=2))
    else:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        sys.stdout.write(doctor.render(findings, color=color))
    return doctor.exit_code(findings)


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
    stop = stop_on_sigterm()
    print(f"fake model server: OPENAI_BASE_URL={server.base_url} (Ctrl-C to stop)", flush=True)
    try:
        serve_until_stopped(stop)
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
            type=_threshold(f.name, type(default)),
            default=default,
            metavar="N",
            help=f"{help_text[f.name]} (default {default:,.0f})"
            if float(default).is_integer()
            else f"{help_text[f.name]} (default {default})",
        )


def _threshold(name: str, kind: type[float]) -> Any:
    """An argparse ``type`` that parses a threshold flag and refuses impossible values."""
    from otel_agentkit.ops.alerts import threshold_problem

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind.__name__}, got {text!r}") from None
        problem = threshold_problem(name, value)
        if problem is not None:
            raise argparse.ArgumentTypeError(f"{text}: {problem}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


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

    demo = sub.add_parser(
        "demo",
        help="run a small agent offline and show its trace trees, logs and metrics",
        description="Run a small real agent offline (fake model server, in-memory Qdrant, "
        "Flask) and show its trace trees, JSON logs and a summary of its /metrics. "
        "Needs: pip install 'otel-agentkit[demo]'.",
    )
    demo.add_argument("--requests", type=int, default=20, help="requests to send (default 20)")
    demo.add_argument("--service-name", default="agentkit-demo", help="service.name")
    demo.add_argument(
        "--port", type=int, default=0, help="port of the app's /metrics and /health (default: free)"
    )
    demo.add_argument(
        "--otlp-endpoint",
        default=None,
        help="also export traces, metrics and logs over OTLP to this URL "
        "(default: OTEL_EXPORTER_OTLP_ENDPOINT); the exit status says whether it worked",
    )
    demo.add_argument(
        "--model-url",
        default=None,
        help="a real OpenAI-compatible server (Ollama, vLLM, NIM) instead of the fake one "
        "(default: OPENAI_BASE_URL)",
    )
    demo.add_argument("--model", default=None, help="chat model (default: the server's first)")
    demo.add_argument(
        "--embedding-model",
        default=None,
        help="embedding model of --model-url (default: local deterministic embeddings)",
    )
    demo.add_argument(
        "--model-latency",
        type=float,
        default=0.02,
        help="seconds the fake model server waits before answering (default 0.02)",
    )
    demo.add_argument("--log-file", default=None, help="JSON log file (default: a new temp file)")
    demo.add_argument(
        "--serve", action="store_true", help="keep /metrics and /health up until Ctrl-C"
    )
    demo.add_argument("--json", action="store_true", help="print the results as one JSON object")
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

    doctor = sub.add_parser(
        "doctor",
        help="find what would keep telemetry from working (exit 1 when something is broken)",
    )
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
    doctor.add_argument(
        "--offline", action="store_true", help="skip the OTLP endpoint and Prometheus port checks"
    )
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
