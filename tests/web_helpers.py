"""Shared pieces of the Flask and FastAPI integration tests."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from otel_agentkit import semconv
from otel_agentkit.context import get_request_id

#: Logger the test apps' views log to.
APP_LOGGER = "webtest.app"

INVALID_IDS = {
    "too_long": "x" * 129,
    "newline": "abc\ndef",
    "unicode": "caf\u00e9-\u4e2d",
    "empty": "",
    "space": "has space",
}


def is_uuid4(value: str | None) -> bool:
    if not value:
        return False
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value


class RequestIdRecorder(logging.Handler):
    """Remembers, for every record, the request id current when it was logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple[str, str, str | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.name, record.getMessage(), get_request_id()))


@contextmanager
def record_request_ids(*names: str) -> Iterator[RequestIdRecorder]:
    recorder = RequestIdRecorder()
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(recorder)
        lg.setLevel(logging.DEBUG)
    try:
        yield recorder
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(recorder)
            lg.setLevel(level)


def events(capture: Any, name: str) -> list[dict[str, Any]]:
    """Attributes of the OTel log records whose ``event`` is ``name``."""
    found = []
    for log in capture.logs():
        record = getattr(log, "log_record", log)
        attributes = dict(record.attributes or {})
        if attributes.get("event") == name:
            # The OTLP log bridge may carry the id under its semconv name.
            if "request_id" not in attributes and semconv.AGENTKIT_REQUEST_ID in attributes:
                attributes["request_id"] = attributes[semconv.AGENTKIT_REQUEST_ID]
            found.append(attributes)
    return found


def prom_value(text: str, sample_name: str, **labels: str) -> float:
    """Sum of the samples called ``sample_name`` whose labels include ``labels``."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    found = False
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == sample_name and all(
                sample.labels.get(k) == v for k, v in labels.items()
            ):
                total += sample.value
                found = True
    if not found:
        raise AssertionError(f"no sample {sample_name} with {labels}")
    return total


@contextmanager
def info_level(name: str = "otel_agentkit.http") -> Iterator[None]:
    """Let INFO records of ``name`` through (the root logger defaults to WARNING)."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(level)
