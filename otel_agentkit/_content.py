"""Content capture settings, serialisation, redaction and truncation.

Shared by the decorators (tool arguments and results) and the LLM
instrumentors (messages). Nothing here is called unless content capture is
on for the operation at hand, and nothing here raises into the host program:
values that cannot be serialised are represented, a redaction hook that fails
replaces the text with a placeholder (never lets the unredacted text through).

The capture mode comes from ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
(``NO_CONTENT`` by default; ``SPAN_ONLY``, ``EVENT_ONLY``, ``SPAN_AND_EVENT``;
``true`` means ``SPAN_ONLY``), unless :func:`set_capture_mode` overrides it.

The pipeline for every captured value is: serialise to JSON (values under
secret-looking keys such as ``api_key`` replaced) -> :func:`redact` (regex
patterns, then the user hook) -> :func:`truncate` -> :func:`valid_utf8`.
Redaction runs before truncation so a secret cut in half cannot slip past a
pattern. :func:`redact` is also the one redaction pass for every other free
text otel-agentkit exports (see :mod:`otel_agentkit._sanitize`).

Capture runs on every recorded LLM call, so the common case is kept short:
plain messages (dicts, lists, strings) are checked and written as JSON in one
walk, and each built-in secret pattern runs only on a text holding one of
the substrings every match of it has (same results as running them all on
every text); one pre-scan for all those substrings passes over most texts,
which hold none, at once. Importing the module does no work beyond defining
names: regexes are compiled and ``json`` imported on first use.

Imports only the standard library.
"""

from __future__ import annotations

import enum
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from otel_agentkit import semconv
from otel_agentkit.errors import ConfigurationError

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_REDACT_KEYS",
    "DEFAULT_REDACT_PATTERNS",
    "REDACTED",
    "ContentCapture",
    "capture_mode",
    "max_length",
    "parse_capture_mode",
    "redact",
    "set_capture_mode",
    "set_max_length",
    "set_redaction",
    "should_capture_on_event",
    "should_capture_on_span",
    "to_json",
    "to_jsonable",
    "truncate",
]

_log = logging.getLogger("otel_agentkit")

#: Text that replaces a redacted secret.
REDACTED: Final = "[REDACTED]"
#: What a value becomes when the redaction hook itself fails.
REDACTION_FAILED: Final = "[REDACTION FAILED]"
#: Marker appended to truncated text (counts toward the limit).
TRUNCATION_MARKER: Final = "...[truncated]"
#: Default maximum length, in characters, of one captured value.
DEFAULT_MAX_LENGTH: Final = 8192

#: Mapping keys whose values are always replaced by :data:`REDACTED`
#: (compared lower-cased with ``-`` read as ``_``).
DEFAULT_REDACT_KEYS: Final[frozenset[str]] = frozenset(
    {
        "api_key",
        "apikey",
        "x_api_key",
        "authorization",
        "proxy_authorization",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "session_token",
        "cookie",
        "set_cookie",
        "private_key",
    }
)

#: Names whose ``name=value`` (a URL query parameter, a form field, a ``key=value``
#: in a message) has its value redacted: a name that is one of these or ends with
#: one (``x-api-key``, ``access_token``, ``client_secret``), compared ignoring case.
_SECRET_NAMES: Final = (
    r"(?:key|token|secret|password|passwd|pwd|auth|authorization|signature|sig"  # noqa: S105
    r"|credentials?)"
)

#: Regular expressions for secrets that look the same everywhere: provider API keys,
#: authorization headers, credentials in URLs. Where a pattern has a group named
#: ``keep``, that part of the match stays (``api_key=`` of ``api_key=abc``).
DEFAULT_REDACT_PATTERNS: Final[tuple[str, ...]] = (
    r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,}",  # OpenAI / Anthropic style API keys
    # NVIDIA, xAI, Perplexity, Groq, Hugging Face, Replicate, GitLab, Slack, GitHub keys
    r"\b(?:nvapi-|xai-|pplx-|gsk_|hf_|r8_|glpat-|xox[abposr]-|github_pat_)[A-Za-z0-9_\-]{16,}",
    r"\bAIza[0-9A-Za-z_\-]{35}",  # Google API keys
    # HTTP bearer tokens; the space may be a JSON escape (redaction runs on JSON text)
    r"(?ai)\bbearer(?:\s|\\[tnr])+[A-Za-z0-9._~+/\-]{8,}=*",
    # HTTP basic credentials (base64 with a digit: not an English word)
    r"(?ai)\bbasic(?:\s|\\[tnr])+(?=[A-Za-z+/]*[0-9])[A-Za-z0-9+/]{8,}={0,2}",
    r"\bAKIA[0-9A-Z]{16}\b",  # AWS access key ids
    r"\bgh[pousr]_[A-Za-z0-9]{20,}\b",  # GitHub tokens
    r"(?<=://)[^\s/?#@'\"<>]+(?=@)",  # user:password@ in a URL
    # api_key=..., token=..., password=... in a URL query or a message
    r"(?ai)(?P<keep>(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]*?" + _SECRET_NAMES + r"=)[^&#\s'\"<>]+",
)

#: Substrings of which each default pattern's matches contain at least one, in the
#: same order (lower-case ones are looked for in the lower-cased text): a text with
#: none of a pattern's substrings is not scanned by that pattern.
_NEEDLES: Final[tuple[tuple[str, ...], ...]] = (
    ("sk-",),
    (
        "nvapi-",
        "xai-",
        "pplx-",
        "gsk_",
        "hf_",
        "r8_",
        "glpat-",
        *(f"xox{kind}-" for kind in "abposr"),
        "github_pat_",
    ),
    ("AIza",),
    ("bearer",),
    ("basic",),
    ("AKIA",),
    tuple(f"gh{kind}_" for kind in "pousr"),
    ("://",),
    # name= for each name of _SECRET_NAMES
    (
        "key=",
        "token=",
        "secret=",
        "password=",
        "passwd=",
        "pwd=",
        "auth=",
        "authorization=",
        "signature=",
        "sig=",
        "credential=",
        "credentials=",
    ),
)
#: The ``name=value`` pattern's index: it runs only on a text with a ``=``.
_KEY_VALUE: Final = 8
#: Which of :data:`_NEEDLES` are looked for in the lower-cased text.
_LOWER_NEEDLES: Final = frozenset({3, 4, 8})
#: Characters each in several needles: a text without one holds none of those
#: needles, and one test of it spares a test of each.
_GATES: Final = ("-", "_", "=", "A", "b")


def _gated(lowered: bool) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The needles looked for in the text (or the lower-cased text), by gate.

    Each needle goes under the first of :data:`_GATES` it holds, or under ``""``
    (in every text) when it holds none.
    """
    groups: dict[str, list[str]] = {}
    for index, needles in enumerate(_NEEDLES):
        if (index in _LOWER_NEEDLES) is lowered:
            for needle in needles:
                gate = next((g for g in _GATES if g in needle), "")
                groups.setdefault(gate, []).append(needle)
    return tuple((gate, tuple(needles)) for gate, needles in groups.items())


#: Every needle of :data:`_NEEDLES`, by gate, looked for by :func:`_may_hold_secret`.
_SCAN: Final = _gated(False)
_SCAN_LOWER: Final = _gated(True)

_MAX_DEPTH: Final = 12
_MAX_ITEMS: Final = 1000
_MAX_REPR: Final = 500
_STRING_MARGIN: Final = 1024


class ContentCapture(enum.Enum):
    """Where captured content goes (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``)."""

    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"


_ALIASES: Final[dict[str, ContentCapture]] = {
    "": ContentCapture.NO_CONTENT,
    "true": ContentCapture.SPAN_ONLY,
    "1": ContentCapture.SPAN_ONLY,
    "yes": ContentCapture.SPAN_ONLY,
    "on": ContentCapture.SPAN_ONLY,
    "false": ContentCapture.NO_CONTENT,
    "0": ContentCapture.NO_CONTENT,
    "no": ContentCapture.NO_CONTENT,
    "off": ContentCapture.NO_CONTENT,
}


def parse_capture_mode(raw: str | ContentCapture | None) -> ContentCapture:
    """Parse a capture-mode value; raises :class:`ConfigurationError` if unknown.

    Accepts the enum names case-insensitively and ``true``/``false`` (``true``
    means ``SPAN_ONLY``, as in the official GenAI instrumentations).
    """
    if raw is None:
        return ContentCapture.NO_CONTENT
    if isinstance(raw, ContentCapture):
        return raw
    text = raw.strip()
    alias = _ALIASES.get(text.lower())
    if alias is not None:
        return alias
    try:
        return ContentCapture[text.upper()]
    except KeyError:
        choices = ", ".join(m.name for m in ContentCapture)
        raise ConfigurationError(
            semconv.ENV_CAPTURE_MESSAGE_CONTENT, raw, f"expected one of {choices} (or true/false)"
        ) from None


# -- capture mode ------------------------------------------------------------------

_ENV_KEY: Final = semconv.ENV_CAPTURE_MESSAGE_CONTENT
# ``os.environ.get`` of a missing key costs ~0.7 us (it raises KeyError inside);
# decorators ask for the mode on every recorded call, so read the mapping
# behind ``os.environ`` directly when it is there (CPython keeps it in sync).
_ENV_DATA: Any = getattr(os.environ, "_data", None)
_ENV_ENCODED_KEY: Any = None
if _ENV_DATA is not None:
    try:
        _ENV_ENCODED_KEY = os.environ.encodekey(_ENV_KEY)
    except Exception:  # pragma: no cover - not CPython's os._Environ
        _ENV_DATA = None


def _read_env_raw() -> Any:
    """The variable as stored: encoded (``os.environ``'s own mapping), or a str; None if unset."""
    if _ENV_DATA is None or not isinstance(_ENV_DATA, dict):  # pragma: no cover
        return os.environ.get(_ENV_KEY)
    return _ENV_DATA.get(_ENV_ENCODED_KEY)


def _decode_env(raw: Any) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    return str(os.environ.decodevalue(raw))


_override: ContentCapture | None = None
# (raw env value as stored, parsed mode): decoded and re-parsed only when it changes.
_env_cache: tuple[object, ContentCapture] = (None, ContentCapture.NO_CONTENT)
_warned_values: set[str] = set()


def capture_mode() -> ContentCapture:
    """The content capture mode in force now.

    :func:`set_capture_mode` wins; otherwise the environment variable is read
    on each call (parsing is cached per raw value). An unknown value is
    logged once as a warning and treated as ``NO_CONTENT``: capture fails closed.
    """
    global _env_cache
    if _override is not None:
        return _override
    stored = _read_env_raw()
    cached_raw, cached_mode = _env_cache
    if stored == cached_raw:
        return cached_mode
    raw = _decode_env(stored)
    try:
        mode = parse_capture_mode(raw)
    except ConfigurationError as exc:
        if raw not in _warned_values:
            _warned_values.add(str(raw))
            _log.warning("%s; capturing no content", exc)
        mode = ContentCapture.NO_CONTENT
    _env_cache = (stored, mode)
    return mode


def set_capture_mode(mode: ContentCapture | str | None) -> None:
    """Override the capture mode for the whole process (``None`` goes back to the env var)."""
    global _override
    _override = None if mode is None else parse_capture_mode(mode)


def should_capture_on_span(mode: ContentCapture) -> bool:
    """Whether ``mode`` puts content on span attributes."""
    return mode is ContentCapture.SPAN_ONLY or mode is ContentCapture.SPAN_AND_EVENT


def should_capture_on_event(mode: ContentCapture) -> bool:
    """Whether ``mode`` puts content on events (log records)."""
    return mode is ContentCapture.EVENT_ONLY or mode is ContentCapture.SPAN_AND_EVENT


# -- limits ----------------------------------------------------------------------

_max_length: int = DEFAULT_MAX_LENGTH


def max_length() -> int:
    """Maximum length, in characters, of one captured value."""
    return _max_length


def set_max_length(value: int | None) -> None:
    """Set the maximum captured length (``None`` restores :data:`DEFAULT_MAX_LENGTH`)."""
    global _max_length
    if value is None:
        _max_length = DEFAULT_MAX_LENGTH
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError("max_length", value, "must be a positive integer")
    _max_length = value


def truncate(text: str, limit: int | None = None) -> str:
    """Cut ``text`` to ``limit`` characters (default :func:`max_length`), marker included."""
    if limit is None:
        limit = _max_length
    if len(text) <= limit:
        return text
    if limit <= len(TRUNCATION_MARKER):
        return text[:limit]
    return text[: limit - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER


_SURROGATE: Final = "[\ud800-\udfff]"
_surrogates: re.Pattern[str] | None = None


def valid_utf8(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD: the one thing UTF-8 cannot carry.

    Exporters encode text as UTF-8: a lone surrogate fails the Prometheus
    exposition and gets a whole OTLP batch rejected.
    """
    global _surrogates
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pattern = _surrogates
        if pattern is None:
            pattern = _surrogates = re.compile(_SURROGATE)
        return pattern.sub("\ufffd", text)
    return text


# -- redaction --------------------------------------------------------------------

#: Most keys remembered (with their JSON) as not secret, per redaction configuration.
_KEYS_REMEMBERED: Final = 4096
_KEY_REMEMBERED_MAX_LENGTH: Final = 64


class _Redaction:
    """One redaction configuration (replaced whole by :func:`set_redaction`)."""

    __slots__ = (
        "defaults",
        "hook",
        "key_json",
        "keys",
        "messages_fast",
        "patterns",
        "replacement",
        "templates",
    )

    def __init__(
        self,
        defaults: bool,
        patterns: tuple[re.Pattern[str], ...],
        keys: frozenset[str],
        hook: Callable[[str], str] | None,
        replacement: str,
    ) -> None:
        #: Whether :data:`DEFAULT_REDACT_PATTERNS` apply (before ``patterns``).
        self.defaults = defaults
        #: The user's own patterns, applied in order after the defaults.
        self.patterns = patterns
        self.keys = keys
        self.hook = hook
        self.replacement = replacement
        #: The ``re.sub`` template of each default pattern: the replacement (taken
        #: literally), after the pattern's ``keep`` group when it has one.
        literal = replacement.replace("\\", "\\\\")
        self.templates = (
            tuple(
                (r"\g<keep>" + literal) if "keep" in pattern.groupindex else literal
                for pattern in _defaults()
            )
            if defaults
            else ()
        )
        #: Keys found not secret -> their JSON (``"key":``): payloads repeat a few keys.
        self.key_json: dict[str, str] = {}
        #: Whether :func:`_messages_json` may write messages: none of its keys is
        #: secret, and redaction is the default patterns alone (which it can apply
        #: to the string values only; a user pattern or hook sees the whole text).
        self.messages_fast = (
            defaults
            and not patterns
            and hook is None
            and not any(_normalise_key(key) in keys for key in _MESSAGE_KEYS)
        )

    def secret_key(self, key: str) -> bool:
        """Whether values under ``key`` are replaced."""
        return key not in self.key_json and _normalise_key(key) in self.keys

    def plain_key_json(self, key: Any) -> str | None:
        """``"key":`` for a string key that is not secret (remembered), else None."""
        if type(key) is not str or _normalise_key(key) in self.keys:
            return None
        text = _encode_string(key) + ":"
        if len(self.key_json) < _KEYS_REMEMBERED and len(key) <= _KEY_REMEMBERED_MAX_LENGTH:
            self.key_json[key] = text
        return text


def _compile(patterns: Iterable[str | re.Pattern[str]]) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        if isinstance(pattern, re.Pattern):
            compiled.append(pattern)
            continue
        if not isinstance(pattern, str):
            raise ConfigurationError(
                "redaction pattern", pattern, "must be a string or a compiled regular expression"
            )
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ConfigurationError(
                "redaction pattern", pattern, f"is not a valid regular expression: {exc}"
            ) from None
    return tuple(compiled)


_default_rules: tuple[re.Pattern[str], ...] | None = None


def _defaults() -> tuple[re.Pattern[str], ...]:
    """The default patterns, compiled on first use."""
    global _default_rules
    rules = _default_rules
    if rules is None:
        # Two threads may both compile; both results are the same.
        rules = _default_rules = _compile(DEFAULT_REDACT_PATTERNS)
    return rules


def _normalise_key(key: str) -> str:
    return key.lower().replace("-", "_")


_redaction_lock = threading.Lock()
#: The configuration in force; built on first use (it compiles the default patterns).
_redaction: _Redaction | None = None


def _config() -> _Redaction:
    global _redaction
    config = _redaction
    if config is None:
        with _redaction_lock:
            config = _redaction
            if config is None:
                config = _redaction = _Redaction(True, (), DEFAULT_REDACT_KEYS, None, REDACTED)
    return config


def set_redaction(
    patterns: Iterable[str | re.Pattern[str]] = (),
    *,
    hook: Callable[[str], str] | None = None,
    keys: Iterable[str] = (),
    replacement: str = REDACTED,
    include_defaults: bool = True,
) -> None:
    """Configure how captured content is redacted, for the whole process.

    ``patterns``: regular expressions; every match is replaced by
    ``replacement``. ``hook``: a callable given the (pattern-redacted) text
    that returns the text to record; if it raises or returns a non-string, the
    whole value is recorded as ``[REDACTION FAILED]``. ``keys``: mapping keys
    whose values are always replaced (case-insensitive). With
    ``include_defaults`` (the default) the built-in secret patterns and keys
    stay active too. Calling ``set_redaction()`` with no arguments restores
    the defaults. Invalid patterns raise :class:`ConfigurationError`.
    """
    global _redaction
    if hook is not None and not callable(hook):
        raise ConfigurationError("redaction hook", hook, "must be callable (str -> str)")
    compiled = _compile(patterns)
    key_set = frozenset(_normalise_key(k) for k in keys)
    if include_defaults:
        key_set = key_set | DEFAULT_REDACT_KEYS
    with _redaction_lock:
        _redaction = _Redaction(include_defaults, compiled, key_set, hook, replacement)


def replacement() -> str:
    """The text a redacted secret is replaced with (``[REDACTED]`` unless configured)."""
    return (_redaction or _config()).replacement


def _may_hold_secret(text: str) -> bool:
    """Whether ``text`` holds a needle of :data:`_NEEDLES` (a lower-case one in
    ``text.lower()``): False means no default pattern can match it.

    The same test :func:`redact` makes pattern by pattern, done once up front, a
    character test first standing for the needles that hold that character.
    """
    for gate, needles in _SCAN:
        if gate in text:
            for needle in needles:
                if needle in text:
                    return True
    lowered = text.lower()
    for gate, needles in _SCAN_LOWER:
        if gate in lowered:
            for needle in needles:
                if needle in lowered:
                    return True
    return False


def redact(text: str) -> str:
    """Apply the configured patterns, then the hook, to ``text``. Never raises.

    This is the one redaction pass for every free text otel-agentkit exports:
    captured content, status descriptions, exception messages and stack
    traces, log messages, URLs.
    """
    config = _redaction or _config()
    # Most texts hold no needle at all: one pre-scan tells, and the default
    # patterns (and their per-pattern needle tests) are then skipped whole.
    if config.defaults and _may_hold_secret(text):
        # Each default pattern runs only on a text holding one of its substrings
        # (_NEEDLES): a few substring tests, far cheaper than a regex scan, spare
        # most texts every pattern; the result is the same as running them all.
        lowered: str | None = None
        rules = _default_rules or _defaults()
        has_equals = "=" in text
        for index, needles in enumerate(_NEEDLES):
            if index == _KEY_VALUE and not has_equals:
                continue
            if index in _LOWER_NEEDLES:
                if lowered is None:
                    lowered = text.lower()
                haystack = lowered
            else:
                haystack = text
            for needle in needles:
                if needle in haystack:
                    text = rules[index].sub(config.templates[index], text)
                    lowered = None
                    break
    for pattern in config.patterns:
        text = pattern.sub(config.replacement, text)
    if config.hook is not None:
        try:
            result: object = config.hook(text)
        except Exception:
            _log.debug("otel_agentkit: redaction hook failed", exc_info=True)
            return REDACTION_FAILED
        if not isinstance(result, str):
            _log.debug("otel_agentkit: redaction hook returned %s, not str", type(result))
            return REDACTION_FAILED
        text = result
    return text


# -- serialisation ----------------------------------------------------------------

_INFINITY: Final = float("inf")


def _placeholder(value: object) -> str:
    cls = type(value)
    try:
        text = repr(value)
    except Exception:
        return f"<unrepresentable {cls.__module__}.{cls.__qualname__}>"
    if len(text) > _MAX_REPR:
        text = text[: _MAX_REPR - 3] + "..."
    return text


def to_jsonable(value: Any, *, max_string: int | None = None) -> Any:
    """A JSON-compatible copy of ``value``; secret-keyed values redacted. Never raises.

    Containers, dataclasses, enums, objects with ``model_dump()`` (pydantic) and
    JSON scalars are converted; anything else becomes its (shortened) ``repr``.
    Cycles, very deep nesting and very long containers are cut with a marker;
    strings longer than ``max_string`` are cut (the rest could never be recorded).
    """
    config = _redaction or _config()
    replacement = config.replacement
    active: set[int] = set()

    def convert(obj: Any, depth: int) -> Any:
        if isinstance(obj, str):
            if max_string is not None and len(obj) > max_string:
                return obj[:max_string]
            return obj
        if obj is None or isinstance(obj, (bool, int)):
            return obj
        if isinstance(obj, float):
            return obj if -_INFINITY < obj < _INFINITY else str(obj)
        if depth > _MAX_DEPTH:
            return "<max depth>"
        if isinstance(obj, enum.Enum):
            return convert(obj.value, depth + 1)
        if isinstance(obj, (bytes, bytearray, memoryview)):
            return f"<{type(obj).__name__} len={len(obj)}>"
        oid = id(obj)
        if oid in active:
            return "<cycle>"
        active.add(oid)
        try:
            if isinstance(obj, Mapping):
                out: dict[str, Any] = {}
                for i, (k, v) in enumerate(obj.items()):
                    if i >= _MAX_ITEMS:
                        out["..."] = f"<{len(obj) - _MAX_ITEMS} more>"
                        break
                    key = k if isinstance(k, str) else str(convert(k, depth + 1))
                    out[key] = replacement if config.secret_key(key) else convert(v, depth + 1)
                return out
            if isinstance(obj, (list, tuple, set, frozenset)):
                items: list[Any] = []
                for i, item in enumerate(obj):
                    if i >= _MAX_ITEMS:
                        items.append(f"<{len(obj) - _MAX_ITEMS} more>")
                        break
                    items.append(convert(item, depth + 1))
                return items
            if getattr(type(obj), "__dataclass_fields__", None) is not None:
                import dataclasses  # loaded already: the object's class is a dataclass

                fields = {f.name: getattr(obj, f.name, None) for f in dataclasses.fields(obj)}
                return convert(fields, depth + 1)
            dump = getattr(type(obj), "model_dump", None)
            if callable(dump):
                return convert(dump(obj, mode="json"), depth + 1)
            return _placeholder(obj)
        except Exception:
            return _placeholder(obj)
        finally:
            active.discard(oid)

    try:
        return convert(value, 0)
    except Exception:  # pragma: no cover - convert() already guards each step
        return _placeholder(value)


def _plain_json(obj: Any, depth: int, max_string: int, config: _Redaction, out: list[str]) -> bool:
    """Append the JSON of ``obj`` to ``out`` when :func:`to_jsonable` would keep it as it is.

    That is: dicts with string keys (none secret), lists and tuples, strings of
    at most ``max_string`` characters, ints, bools, None and finite floats,
    within the depth and length limits; exact types only. Otherwise returns
    False (``out`` then holds a part of the text, to be dropped) and the value
    goes through :func:`to_jsonable`. The text is what the ``json`` encoder of
    :func:`_json_tools` gives (same separators, string escaping and number
    spelling); one walk both checks the value and writes it, and the strings
    inside containers, the messages' bulk, are written without a call.
    """
    kind = type(obj)
    if kind is dict:
        if depth > _MAX_DEPTH or len(obj) > _MAX_ITEMS:
            return False
        keys = config.key_json
        separator = "{"
        for key, item in obj.items():
            key_json = keys.get(key)
            if key_json is None:
                key_json = config.plain_key_json(key)
                if key_json is None:
                    return False
            out.append(separator)
            out.append(key_json)
            separator = ","
            if type(item) is str:
                if len(item) > max_string:
                    return False
                out.append(_encode_string(item))
            elif not _plain_json(item, depth + 1, max_string, config, out):
                return False
        out.append("}" if separator == "," else "{}")
        return True
    if kind is list or kind is tuple:
        if depth > _MAX_DEPTH or len(obj) > _MAX_ITEMS:
            return False
        separator = "["
        # The dict branch's item step again: this runs for every captured value,
        # and a shared helper would cost a call per item.
        for item in obj:
            out.append(separator)
            separator = ","
            if type(item) is str:
                if len(item) > max_string:
                    return False
                out.append(_encode_string(item))
            elif not _plain_json(item, depth + 1, max_string, config, out):
                return False
        out.append("]" if separator == "," else "[]")
        return True
    if kind is str:
        if len(obj) > max_string:
            return False
        out.append(_encode_string(obj))
    elif obj is None:
        out.append("null")
    elif kind is bool:
        out.append("true" if obj else "false")
    elif kind is int:
        out.append(int.__repr__(obj))
    elif kind is float and -_INFINITY < obj < _INFINITY:
        out.append(float.__repr__(obj))
    else:
        return False
    return True


#: The keys of conventions' messages and text parts, as :func:`_messages_json` writes them.
_MESSAGE_KEYS: Final = ("role", "parts", "finish_reason", "type", "content")
_MESSAGE: Final = ("role", "parts")
_OUTPUT_MESSAGE: Final = ("role", "parts", "finish_reason")
_TEXT_PART: Final = ("type", "content")


def _messages_json(value: list[Any], max_string: int) -> tuple[str, str] | None:
    """The JSON of conventions' text messages, and their string values' JSON, or None.

    The shape of nearly every captured message list: a list of dicts with keys
    ``role``, ``parts`` (and ``finish_reason``), in that order, each part a dict
    with keys ``type`` and ``content``, every value a string of at most
    ``max_string`` characters. For that shape the text is exactly what
    :func:`_plain_json` writes, written from templates. The second string
    holds the JSON string literals of the values, one after another: the
    default patterns' needles can only lie inside a string literal (they hold
    no ``"``, and the keys and punctuation between the literals hold none), so
    it holds a needle exactly when the whole text does, and is shorter to scan.
    Anything else: None (the general path writes it).
    """
    if len(value) > _MAX_ITEMS:
        return None
    encode = _encode_string
    messages: list[str] = []
    literals: list[str] = []
    for message in value:
        if type(message) is not dict:
            return None
        keys = tuple(message)
        if keys == _MESSAGE:
            reason = None
        elif keys == _OUTPUT_MESSAGE:
            reason = message["finish_reason"]
            if type(reason) is not str or len(reason) > max_string:
                return None
        else:
            return None
        role = message["role"]
        parts = message["parts"]
        if (
            type(role) is not str
            or len(role) > max_string
            or type(parts) is not list
            or len(parts) > _MAX_ITEMS
        ):
            return None
        role_json = encode(role)
        literals.append(role_json)
        written: list[str] = []
        for part in parts:
            if type(part) is not dict or tuple(part) != _TEXT_PART:
                return None
            kind = part["type"]
            content = part["content"]
            if (
                type(kind) is not str
                or type(content) is not str
                or len(kind) > max_string
                or len(content) > max_string
            ):
                return None
            kind_json = encode(kind)
            content_json = encode(content)
            literals.append(kind_json)
            literals.append(content_json)
            written.append(f'{{"type":{kind_json},"content":{content_json}}}')
        if reason is None:
            messages.append(f'{{"role":{role_json},"parts":[{",".join(written)}]}}')
        else:
            reason_json = encode(reason)
            literals.append(reason_json)
            messages.append(
                f'{{"role":{role_json},"parts":[{",".join(written)}],"finish_reason":{reason_json}}}'
            )
    return f"[{','.join(messages)}]", "".join(literals)


def _unencodable(value: object) -> object:
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json_tools() -> tuple[Callable[[str], str], Callable[[Any, int], Iterable[str]]]:
    """The string encoder and the JSON encoder of :func:`to_json`, made on first use.

    Both are ``json``'s own (imported now, not with this module): the string
    escaper, and the compact C encoder (UTF-8 kept) that ``json.dumps`` would
    build on every call, built once and reused. It keeps nothing between calls
    (no circular-reference markers: :func:`to_jsonable` gives it trees).
    """
    global _encode_string, _json_chunks
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is not None:
        chunks = make(
            None, _unencodable, encoder.encode_basestring, None, ":", ",", False, False, True
        )
    else:  # pragma: no cover - interpreters without the C accelerator
        chunks = encoder.JSONEncoder(ensure_ascii=False, separators=(",", ":")).iterencode
    _encode_string, _json_chunks = encoder.encode_basestring, chunks
    return _encode_string, chunks


def _not_loaded(value: Any, *args: Any) -> Any:
    raise AssertionError("_json_tools() not called")  # pragma: no cover


#: A string as a JSON string literal; ``(value, 0)`` -> the chunks of its JSON.
#: Both set by :func:`_json_tools` on first use.
_encode_string: Callable[[str], str] = _not_loaded
_json_chunks: Callable[[Any, int], Iterable[str]] = _not_loaded


def to_json(value: Any, max_length: int | None = None) -> str:
    """Serialise ``value`` to JSON, redact, truncate: the text to record. Never raises.

    ``max_length`` defaults to the process-wide :func:`max_length`. Strings
    inside ``value`` are first cut a margin beyond ``max_length`` (their tail
    would be truncated away anyway), so a megabyte tool result costs no more
    than the limit; the margin keeps a secret that straddles the limit whole
    for the redaction patterns.
    """
    limit = _max_length if max_length is None else max_length
    max_string = limit + _STRING_MARGIN
    if _json_chunks is _not_loaded:
        _json_tools()
    config = _redaction or _config()
    if type(value) is list and value and config.messages_fast:
        # Conventions' text messages, the common capture: written from templates,
        # and the default patterns need to look only at the string values.
        try:
            written = _messages_json(value, max_string)
        except Exception:  # e.g. a dict changed while read: the general path copes
            written = None
        if written is not None:
            text, literals = written
            if _may_hold_secret(literals):
                text = redact(text)
            if len(text) > limit:
                text = truncate(text, limit)
            return text if text.isascii() else valid_utf8(text)
    out: list[str] = []
    try:
        plain = _plain_json(value, 0, max_string, config, out)
    except Exception:  # e.g. a dict changed size while read: the careful path copes
        plain = False
    if plain:
        text = "".join(out)
    else:
        try:
            text = "".join(_json_chunks(to_jsonable(value, max_string=max_string), 0))
        except Exception:
            text = _encode_string(_placeholder(value))
    text = redact(text)
    if len(text) > limit:
        text = truncate(text, limit)
    # A lone surrogate (from a server's JSON, a file name) cannot be exported as UTF-8.
    return text if text.isascii() else valid_utf8(text)
