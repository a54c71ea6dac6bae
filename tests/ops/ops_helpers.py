"""Helpers shared by the ops tests: repository paths and PromQL name extraction."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from otel_agentkit.ops import catalog

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_FILE = REPO / "dashboards" / "agentkit.json"
DEPLOY_DIR = REPO / "deploy"
ALERTS_FILE = DEPLOY_DIR / "prometheus" / "alerts.yaml"
ALERT_TESTS_FILE = Path(__file__).resolve().parent / "alerts_test.yaml"

REGENERATE = (
    "otel-agentkit dashboard --out dashboards/agentkit.json && otel-agentkit stack --out deploy"
)

#: Series name -> the catalog family it belongs to (or the Prometheus-made series).
SERIES_FAMILY: dict[str, str] = {
    series: family.name for family in catalog.FAMILIES for series in family.all_series()
}
SERIES_FAMILY[catalog.UP] = catalog.UP
SERIES_FAMILY[catalog.TARGET_INFO] = catalog.TARGET_INFO

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or"}
_KEYWORDS |= {"unless", "bool", "offset", "inf", "nan"}


def series_in(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (``name{...}``, ``name[5m]``, bare ``name``)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery windows
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", text):
        if match.group(1).lower() not in _KEYWORDS:
            names.add(match.group(1))
    return names


def families_in(expr: str) -> set[str]:
    """Catalog families (semconv metric names) an expression reads; unknown names raise."""
    unknown = series_in(expr) - set(SERIES_FAMILY)
    if unknown:
        raise AssertionError(f"{expr!r} uses series no catalog family emits: {sorted(unknown)}")
    return {SERIES_FAMILY[s] for s in series_in(expr)}


def panel_targets(model: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) for every target of every non-row panel."""
    return [
        (panel["title"], target["expr"])
        for panel in model["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]
