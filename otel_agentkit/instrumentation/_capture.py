"""Message-content capture settings shared by the instrumentors.

Content (prompts, completions, tool arguments) is recorded only when
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (or the instrumentor's
``capture_content=`` argument) asks for it: ``NO_CONTENT`` (default),
``SPAN_ONLY``, ``EVENT_ONLY``, ``SPAN_AND_EVENT``; ``true`` means ``SPAN_ONLY``
and ``false`` means ``NO_CONTENT``.
"""

from __future__ import annotations

import enum
import json
import logging
import os
from typing import Any

from otel_agentkit import semconv

_log = logging.getLogger("otel_agentkit")

#: Longest JSON string put on a span attribute or event; longer values are cut.
MAX_CONTENT_CHARS = 16_384


class CaptureMode(enum.Enum):
    """Where message content goes, if anywhere."""

    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"

    @property
    def on_span(self) -> bool:
        """Content goes onto span attributes."""
        return self in (CaptureMode.SPAN_ONLY, CaptureMode.SPAN_AND_EVENT)

    @property
    def on_event(self) -> bool:
        """Content goes onto the ``gen_ai.client.inference.operation.details`` event."""
        return self in (CaptureMode.EVENT_ONLY, CaptureMode.SPAN_AND_EVENT)

    @property
    def enabled(self) -> bool:
        """Any content is captured at all."""
        return self is not CaptureMode.NO_CONTENT


_ALIASES = {"TRUE": CaptureMode.SPAN_ONLY, "FALSE": CaptureMode.NO_CONTENT, "": None}


def resolve_mode(value: str | bool | CaptureMode | None = None) -> CaptureMode:
    """The capture mode from an explicit value, else from the environment.

    Unknown values fall back to ``NO_CONTENT`` with a warning: capture must be
    asked for clearly, never switched on by a typo.
    """
    if isinstance(value, CaptureMode):
        return value
    if isinstance(value, bool):
        return CaptureMode.SPAN_ONLY if value else CaptureMode.NO_CONTENT
    raw = value if value is not None else os.environ.get(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "")
    key = raw.strip().upper()
    if key in _ALIASES:
        return _ALIASES[key] or CaptureMode.NO_CONTENT
    try:
        return CaptureMode(key)
    except ValueError:
        _log.warning(
            "otel-agentkit: %s=%r is not one of NO_CONTENT, SPAN_ONLY, EVENT_ONLY, "
            "SPAN_AND_EVENT, true, false; capturing no content",
            semconv.ENV_CAPTURE_MESSAGE_CONTENT,
            raw,
        )
        return CaptureMode.NO_CONTENT


def to_json(value: Any, limit: int = MAX_CONTENT_CHARS) -> str:
    """Compact JSON for a content attribute, cut to ``limit`` characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    if len(text) > limit:
        return text[: limit - 3] + "..."
    return text
