"""Entry points for the ``opentelemetry-instrument`` launcher (zero-code path).

``opentelemetry-instrument python app.py`` loads the ``agentkit`` distro and
configurator registered by this package, so the app gets the same providers,
Views and Prometheus reader as :func:`otel_agentkit.configure`, driven by
environment variables only.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.sdk._configuration import _BaseConfigurator

from otel_agentkit.errors import ConfigurationError

_log = logging.getLogger("otel_agentkit")

#: Name of our entry point in the ``opentelemetry_configurator`` group.
CONFIGURATOR_NAME = "agentkit"


class AgentkitDistro(BaseDistro):  # type: ignore[misc]
    """Selects the ``agentkit`` configurator unless ``OTEL_PYTHON_CONFIGURATOR`` says otherwise."""

    def _configure(self, **kwargs: Any) -> None:
        os.environ.setdefault("OTEL_PYTHON_CONFIGURATOR", CONFIGURATOR_NAME)


class AgentkitConfigurator(_BaseConfigurator):
    """Runs :func:`otel_agentkit.configure` from environment variables.

    A setting that only one part uses and that cannot work (a busy Prometheus
    port, an exporter nothing provides, a malformed per-signal endpoint) turns
    off that part only, with an error that names the setting and says what to
    change; the app always starts.
    """

    def _configure(self, **kwargs: Any) -> None:
        from otel_agentkit.telemetry import configure

        off: list[str] = []
        while True:
            try:
                configure(**_without(off))
            except ConfigurationError as exc:
                part = _part_of(exc.setting)
                if part is None or part in off:
                    # The launcher must never stop the app from starting: report the
                    # setting clearly, without a stack trace, and run uninstrumented.
                    _log.error("otel-agentkit: telemetry not configured: %s", exc)
                    return
                off.append(part)
                _log.error(
                    "otel-agentkit: %s turned off, the rest is configured as set: %s",
                    _PARTS[part][0],
                    exc,
                )
            else:
                return


#: part -> (what the log line calls it, prefixes of the settings only it uses).
_PARTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "prometheus": (
        "the Prometheus /metrics exporter",
        (
            "OTEL_EXPORTER_PROMETHEUS_",
            "prometheus_",
            "AGENTKIT_PROMETHEUS_",
            "AGENTKIT_METRICS_MULTIPROC_DIR",
            "PROMETHEUS_MULTIPROC_DIR",
            "metrics_multiprocess_dir",
        ),
    ),
    "traces": ("trace export", ("OTEL_TRACES_", "OTEL_EXPORTER_OTLP_TRACES_")),
    "metrics": (
        "metric export",
        ("OTEL_METRICS_EXPORTER", "OTEL_METRIC_EXPORT_", "OTEL_EXPORTER_OTLP_METRICS_"),
    ),
    "logs": ("log export", ("OTEL_LOGS_EXPORTER", "OTEL_EXPORTER_OTLP_LOGS_")),
}


def _part_of(setting: str) -> str | None:
    """The one part a setting configures, or None when it is shared (service name, OTLP)."""
    for part, (_, prefixes) in _PARTS.items():
        if setting.startswith(prefixes):
            return part
    return None


def _without(off: list[str]) -> dict[str, Any]:
    """``configure()`` arguments that leave out the parts in ``off``."""
    from otel_agentkit.telemetry.settings import requested_exporters

    kwargs: dict[str, Any] = {}
    if "traces" in off:
        # Nothing records: instrumentations skip their attribute work too.
        kwargs.update(traces_exporter="none", sampler="always_off")
    if "logs" in off:
        kwargs["logs_exporter"] = "none"
    if "metrics" in off:
        kwargs["metrics_exporter"] = "none"
    elif "prometheus" in off:
        requested = requested_exporters("metrics", os.environ)
        rest = [n for n in requested if n.lower() != "prometheus"]
        kwargs["metrics_exporter"] = rest or "none"
    return kwargs
