"""Operations artifacts generated from the metric names the code emits.

- :mod:`otel_agentkit.ops.dashboards`: the Grafana dashboard
  (``otel-agentkit dashboard``).
- :mod:`otel_agentkit.ops.alerts`: Prometheus recording and alerting rules
  (``otel-agentkit alerts``), thresholds in :class:`AlertThresholds`.
- :mod:`otel_agentkit.ops.stack`: docker-compose stack, collector config and
  Kubernetes manifests (``otel-agentkit stack``).
- :mod:`otel_agentkit.ops.catalog`: the metric families all of them chart.

Everything here is pure Python over :mod:`otel_agentkit.semconv`; nothing
imports the OpenTelemetry SDK.
"""

from __future__ import annotations

from otel_agentkit.ops.alerts import AlertThresholds, build_rules, render_rules
from otel_agentkit.ops.dashboards import build_dashboard, render_dashboard
from otel_agentkit.ops.stack import StackOptions, build_stack, write_stack

__all__ = [
    "AlertThresholds",
    "StackOptions",
    "build_dashboard",
    "build_rules",
    "build_stack",
    "render_dashboard",
    "render_rules",
    "write_stack",
]
