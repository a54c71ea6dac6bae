"""Keep secrets out of health check details.

Details end up in a public JSON response, in span attributes and in logs, so
everything a check reports goes through :func:`redact_text` first: the literal
secrets the check knows about (an API key, header values) are replaced, then
the one redaction pass every exported text gets
(:func:`otel_agentkit._content.redact`: credentials in URLs, credential-like
query parameters, authorization tokens, provider API keys, and whatever
patterns or hook the user configured with ``otel_agentkit.set_redaction``),
with its one mask.
"""

from __future__ import annotations

from collections.abc import Iterable

from otel_agentkit import _content

__all__ = ["redact_text", "redact_url"]

_MIN_SECRET_LEN = 4


def redact_url(url: str) -> str:
    """``url`` with its credentials masked: ``user:pass@`` and the values of query
    parameters such as ``api_key``, ``token`` or ``key``."""
    return _content.redact(url)


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with each literal in ``secrets`` masked, then the shared redaction applied."""
    mask = _content.replacement()
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_LEN:
            text = text.replace(secret, mask)
    return _content.redact(text)
