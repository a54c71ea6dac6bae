"""Structural validation of a Grafana dashboard model, with failures that say what is wrong.

Checks what Grafana needs to import a dashboard and render every panel:
unique panel ids, gridPos inside the 24-column grid with no two panels
overlapping, every datasource reference resolving to a template variable or a
provisioned datasource uid, every target having an expr and a unique refId,
every ``$variable`` used in a query being defined, and the top-level fields of
Grafana's dashboard model (schemaVersion, uid, title, templating, panels).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

GRID_COLUMNS = 24
_BUILTIN_VARS = {"__rate_interval", "__interval", "__range", "__all"}
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_PANEL_TYPES = {"row", "timeseries", "stat", "gauge", "table", "bargauge", "text", "heatmap"}


def _panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in model.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # panels of collapsed rows


def validate(model: dict[str, Any], *, datasource_uids: Iterable[str]) -> list[str]:
    """Every problem found in ``model``; an empty list means valid."""
    problems: list[str] = []
    for key, kind in (
        ("uid", str),
        ("title", str),
        ("schemaVersion", int),
        ("panels", list),
        ("templating", dict),
    ):
        if not isinstance(model.get(key), kind):
            problems.append(f"dashboard.{key} must be a {kind.__name__}")
    if problems:
        return problems

    variables = {v.get("name") for v in model["templating"].get("list", [])}
    for var in model["templating"]["list"]:
        if var.get("type") == "query" and not var.get("datasource"):
            problems.append(f"template variable {var.get('name')!r} has no datasource")
    allowed_uids = (
        set(datasource_uids)
        | {f"${{{name}}}" for name in variables}
        | {f"${name}" for name in variables}
    )

    seen_ids: dict[int, str] = {}
    boxes: list[tuple[str, int, int, int, int]] = []
    for panel in _panels(model):
        title = panel.get("title", "<untitled>")
        where = f"panel {panel.get('id')!r} ({title!r})"
        panel_id = panel.get("id")
        if not isinstance(panel_id, int):
            problems.append(f"{where}: id must be an integer")
        elif panel_id in seen_ids:
            problems.append(f"{where}: id {panel_id} already used by {seen_ids[panel_id]!r}")
        else:
            seen_ids[panel_id] = title
        if panel.get("type") not in _PANEL_TYPES:
            problems.append(f"{where}: unknown panel type {panel.get('type')!r}")

        grid = panel.get("gridPos", {})
        try:
            x, y, w, h = (int(grid[k]) for k in ("x", "y", "w", "h"))
        except (KeyError, TypeError, ValueError):
            problems.append(f"{where}: gridPos needs integer x, y, w, h; got {grid!r}")
        else:
            if w < 1 or h < 1:
                problems.append(f"{where}: gridPos w and h must be positive, got w={w} h={h}")
            if x < 0 or y < 0 or x + w > GRID_COLUMNS:
                problems.append(
                    f"{where}: gridPos x={x} w={w} leaves the {GRID_COLUMNS}-column grid"
                )
            for other, ox, oy, ow, oh in boxes:
                if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                    problems.append(f"{where}: overlaps {other}")
            boxes.append((where, x, y, w, h))

        if panel.get("type") == "row":
            continue
        refs = [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets", [])]
        for ref in refs:
            uid = ref.get("uid") if isinstance(ref, dict) else ref
            if uid not in allowed_uids:
                problems.append(
                    f"{where}: datasource {uid!r} is neither a template variable nor a "
                    f"provisioned uid ({sorted(allowed_uids)})"
                )
        targets = panel.get("targets", [])
        if not targets:
            problems.append(f"{where}: has no targets")
        ref_ids = [t.get("refId") for t in targets]
        if len(set(ref_ids)) != len(ref_ids) or None in ref_ids:
            problems.append(f"{where}: refIds must be present and unique, got {ref_ids}")
        for target in targets:
            expr = target.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                problems.append(f"{where}: target {target.get('refId')} has no expr")
                continue
            for name in _VAR.findall(expr):
                if name not in variables and name not in _BUILTIN_VARS:
                    problems.append(f"{where}: expr uses undefined variable ${name}")
        for link in panel.get("fieldConfig", {}).get("defaults", {}).get("links", []):
            if not link.get("url") or not link.get("title"):
                problems.append(f"{where}: data link needs a title and url, got {link!r}")
    return problems
