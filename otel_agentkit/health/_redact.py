"""Keep secrets out of health check details.

Details end up in a public JSON response, in span attributes and in logs, so
everything a check reports goes through :func:`redact_text` first: URLs lose
their ``user:password@`` part and the values of credential-like query
parameters, ``Bearer``/``Basic`` tokens are masked, and any literal secret the
check knows about (an API key) is replaced. Last, the shared content
redaction runs (its default secret patterns, such as ``sk-...`` API keys, and
whatever patterns or hook the user configured with ``otel_agentkit.set_redaction``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from otel_agentkit import _content

__all__ = ["MASK", "redact_text", "redact_url"]

#: What a redacted value is replaced with.
MASK = "***"

_SENSITIVE_PARAMS = frozenset(
    {
        "access_token",
        "api-key",
        "api_key",
        "apikey",
        "auth",
        "authorization",
        "client_secret",
        "code",
        "credential",
        "credentials",
        "id_token",
        "key",
        "passwd",
        "password",
        "pwd",
        "refresh_token",
        "secret",
        "sig",
        "signature",
        "token",
        "x-api-key",
    }
)

_URL_RE = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>()\[\]]+")
_AUTH_RE = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)
_MIN_SECRET_LEN = 4


def _sensitive(param: str) -> bool:
    name = param.lower()
    return name in _SENSITIVE_PARAMS or name.endswith(
        ("_key", "-key", "_token", "-token", "_secret", "password")
    )


def redact_url(url: str) -> str:
    """``url`` with credentials masked: ``user:pass@`` becomes ``***@`` and the
    values of query parameters such as ``api_key``, ``token`` or ``key`` become ``***``.

    A string that does not parse as a URL is returned unchanged.
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
    except ValueError:
        return url
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_sensitive(k) for k, _ in pairs):
            query = urlencode([(k, MASK if _sensitive(k) else v) for k, v in pairs], safe="*")
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every URL passed through :func:`redact_url`, authorization
    tokens (``Bearer xyz``) masked and each literal in ``secrets`` replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_LEN:
            text = text.replace(secret, MASK)
    text = _URL_RE.sub(lambda m: redact_url(m.group(0)), text)
    text = _AUTH_RE.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _content.redact(text)
