"""Public settings for content capture (tool arguments/results, LLM messages).

Content is off unless ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
(or :func:`set_capture_mode`) turns it on. Whatever is captured is serialised
to JSON, redacted, then truncated::

    from otel_agentkit import content

    content.set_redaction([r"\\b\\d{3}-\\d{2}-\\d{4}\\b"], hook=scrub_names)
    content.set_max_length(4096)

The implementation lives in ``otel_agentkit._content``, shared by the
decorators and the LLM instrumentations.
"""

from __future__ import annotations

from otel_agentkit._content import (
    DEFAULT_MAX_LENGTH,
    DEFAULT_REDACT_KEYS,
    DEFAULT_REDACT_PATTERNS,
    REDACTED,
    ContentCapture,
    capture_mode,
    max_length,
    redact,
    set_capture_mode,
    set_max_length,
    set_redaction,
    to_json,
)

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_REDACT_KEYS",
    "DEFAULT_REDACT_PATTERNS",
    "REDACTED",
    "ContentCapture",
    "capture_mode",
    "max_length",
    "redact",
    "set_capture_mode",
    "set_max_length",
    "set_redaction",
    "to_json",
]
