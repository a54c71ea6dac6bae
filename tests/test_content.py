"""Content capture: mode parsing, JSON serialisation, redaction, truncation."""

from __future__ import annotations

import dataclasses
import enum
import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from otel_agentkit import _content, semconv
from otel_agentkit._content import ContentCapture
from otel_agentkit.errors import ConfigurationError


@pytest.fixture(autouse=True)
def _reset_content_settings() -> Iterator[None]:
    yield
    _content.set_capture_mode(None)
    _content.set_redaction()
    _content.set_max_length(None)


# -- capture mode ------------------------------------------------------------------


def test_capture_mode_defaults_to_no_content() -> None:
    assert _content.capture_mode() is ContentCapture.NO_CONTENT


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("NO_CONTENT", ContentCapture.NO_CONTENT),
        ("SPAN_ONLY", ContentCapture.SPAN_ONLY),
        ("span_only", ContentCapture.SPAN_ONLY),
        ("EVENT_ONLY", ContentCapture.EVENT_ONLY),
        ("SPAN_AND_EVENT", ContentCapture.SPAN_AND_EVENT),
        ("true", ContentCapture.SPAN_ONLY),
        ("True", ContentCapture.SPAN_ONLY),
        ("false", ContentCapture.NO_CONTENT),
    ],
)
def test_capture_mode_reads_env_on_each_call(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: ContentCapture
) -> None:
    assert _content.capture_mode() is ContentCapture.NO_CONTENT
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, raw)
    assert _content.capture_mode() is expected


def test_unknown_capture_mode_fails_closed_and_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "EVERYTHING_PLEASE")
    assert _content.capture_mode() is ContentCapture.NO_CONTENT
    assert "EVERYTHING_PLEASE" in caplog.text
    assert semconv.ENV_CAPTURE_MESSAGE_CONTENT in caplog.text


def test_parse_capture_mode_rejects_unknown_values_by_name() -> None:
    with pytest.raises(ConfigurationError, match="SPAN_ONLY") as info:
        _content.parse_capture_mode("sometimes")
    assert info.value.setting == semconv.ENV_CAPTURE_MESSAGE_CONTENT


def test_set_capture_mode_overrides_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_MESSAGE_CONTENT, "SPAN_ONLY")
    _content.set_capture_mode("NO_CONTENT")
    assert _content.capture_mode() is ContentCapture.NO_CONTENT
    _content.set_capture_mode(None)
    assert _content.capture_mode() is ContentCapture.SPAN_ONLY


@pytest.mark.parametrize(
    ("mode", "span", "event"),
    [
        (ContentCapture.NO_CONTENT, False, False),
        (ContentCapture.SPAN_ONLY, True, False),
        (ContentCapture.EVENT_ONLY, False, True),
        (ContentCapture.SPAN_AND_EVENT, True, True),
    ],
)
def test_should_capture(mode: ContentCapture, span: bool, event: bool) -> None:
    assert _content.should_capture_on_span(mode) is span
    assert _content.should_capture_on_event(mode) is event


# -- serialisation -------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Query:
    text: str
    k: int


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


class FakeModel:
    """Duck-typed like a pydantic model: only ``model_dump(mode=...)`` is used."""

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        return {"mode": mode, "n": 1}


def test_to_json_handles_common_types() -> None:
    value = {
        "q": Query("weather", 3),
        "color": Color.RED,
        "tags": ("a", "b"),
        "blob": b"\x00\x01",
        "nan": float("nan"),
        "model": FakeModel(),
        1: "int key",
    }
    decoded = json.loads(_content.to_json(value))
    assert decoded == {
        "q": {"text": "weather", "k": 3},
        "color": "red",
        "tags": ["a", "b"],
        "blob": "<bytes len=2>",
        "nan": "nan",
        "model": {"mode": "json", "n": 1},
        "1": "int key",
    }


def test_unserialisable_values_are_represented_never_raise() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "Thing(42)"

    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    decoded = json.loads(_content.to_json({"thing": Thing(), "bad": Unprintable(), "c": cyclic}))
    assert decoded["thing"] == "Thing(42)"
    assert decoded["bad"].startswith("<unrepresentable ")
    assert decoded["bad"].endswith("Unprintable>")
    assert decoded["c"] == [1, "<cycle>"]


def test_model_dump_that_raises_falls_back_to_repr() -> None:
    class Broken:
        def model_dump(self, mode: str = "python") -> dict[str, Any]:
            raise ValueError("boom")

        def __repr__(self) -> str:
            return "Broken()"

    assert json.loads(_content.to_json(Broken())) == "Broken()"


def test_deep_and_long_containers_are_cut() -> None:
    deep: Any = "leaf"
    for _ in range(50):
        deep = [deep]
    assert "<max depth>" in _content.to_json(deep)
    long = list(range(5000))
    decoded = json.loads(_content.to_json(long, max_length=10**6))
    assert len(decoded) == 1001
    assert decoded[-1] == "<4000 more>"


# -- truncation ------------------------------------------------------------------------


def test_truncate_keeps_within_limit_with_marker() -> None:
    text = "x" * 100
    cut = _content.truncate(text, 40)
    assert len(cut) == 40
    assert cut.endswith(_content.TRUNCATION_MARKER)
    assert _content.truncate("short", 40) == "short"
    assert _content.truncate(text, 5) == "xxxxx"


def test_global_max_length_applies_to_to_json() -> None:
    _content.set_max_length(30)
    assert len(_content.to_json("y" * 1000)) == 30
    assert len(_content.to_json("y" * 1000, max_length=100)) == 100


@pytest.mark.parametrize("bad", [0, -1, True, "10"])
def test_set_max_length_rejects_bad_values(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_length"):
        _content.set_max_length(bad)


# -- redaction ---------------------------------------------------------------------------


def test_secret_keys_and_default_patterns_are_redacted() -> None:
    text = _content.to_json(
        {
            "API-Key": "hunter2",
            "nested": {"Authorization": "Basic abc"},
            "note": "use sk-abcdefghijklmnopqrstuvwx please",
            "header": "Bearer abc.def.ghi123",
            "max_tokens": 5,
        }
    )
    assert "hunter2" not in text
    assert "Basic abc" not in text
    assert "sk-abcdefghijklmnop" not in text
    assert "abc.def.ghi123" not in text
    decoded = json.loads(text)
    assert decoded["API-Key"] == _content.REDACTED
    assert decoded["max_tokens"] == 5


def test_custom_patterns_and_hook_run_before_recording() -> None:
    seen: list[str] = []

    def hook(text: str) -> str:
        seen.append(text)
        return text.replace("alice", "<user>")

    _content.set_redaction([r"\d{3}-\d{2}-\d{4}", re.compile("secret-[a-z]+")], hook=hook)
    text = _content.to_json({"who": "alice", "ssn": "123-45-6789", "x": "secret-sauce"})
    assert json.loads(text) == {"who": "<user>", "ssn": "[REDACTED]", "x": "[REDACTED]"}
    # patterns ran before the hook saw the text
    assert "123-45-6789" not in seen[0]


def test_redaction_runs_before_truncation() -> None:
    _content.set_redaction([r"SECRETVALUE"])
    # Truncating first would cut the secret to "SECRETVAL", which no pattern matches.
    text = _content.to_json("a" * 10 + "SECRETVALUE" + "b" * 100, max_length=40)
    assert "SECRETVAL" not in text


def test_failing_hook_never_lets_text_through() -> None:
    def hook(text: str) -> str:
        raise RuntimeError("hook bug")

    _content.set_redaction(hook=hook)
    assert _content.redact("my secret") == _content.REDACTION_FAILED

    _content.set_redaction(hook=lambda text: None)  # type: ignore[arg-type,return-value]
    assert _content.redact("my secret") == _content.REDACTION_FAILED


def test_include_defaults_false_drops_builtin_rules() -> None:
    _content.set_redaction(include_defaults=False, keys=["pin"])
    decoded = json.loads(_content.to_json({"password": "p", "PIN": "1234"}))
    assert decoded == {"password": "p", "PIN": "[REDACTED]"}


def test_set_redaction_rejects_invalid_patterns_and_hooks() -> None:
    with pytest.raises(ConfigurationError, match="not a valid regular expression"):
        _content.set_redaction(["(unclosed"])
    with pytest.raises(ConfigurationError, match="callable"):
        _content.set_redaction(hook="nope")  # type: ignore[arg-type]


def test_huge_strings_are_cut_before_serialising_but_secrets_at_the_limit_still_match() -> None:
    huge = "z" * 5_000_000
    assert len(_content.to_jsonable(huge, max_string=100)) == 100
    text = _content.to_json({"doc": huge}, max_length=200)
    assert len(text) == 200
    # A secret straddling the limit is still matched whole, so no prefix of it leaks.
    _content.set_redaction([r"SECRET-[A-Z]{50}"])
    secret = "SECRET-" + "Q" * 50
    text = _content.to_json("x" * 150 + secret + "y" * 10_000, max_length=200)
    assert "SECRET" not in text
    assert "[REDACTED]" in text


def test_public_module_exposes_the_settings() -> None:
    from otel_agentkit import content

    content.set_capture_mode("SPAN_ONLY")
    assert _content.capture_mode() is ContentCapture.SPAN_ONLY
    content.set_max_length(20)
    assert len(content.to_json("q" * 100)) == 20
    content.set_redaction(["hidden"])
    assert content.redact("a hidden word") == "a [REDACTED] word"


# -- the default secret patterns: every shape, and the fast path gives their results --

#: One of each shape the default patterns catch (fake values).
SECRET_SHAPES = [
    "sk-abcdefghijklmnop",  # OpenAI-style key, the shortest one caught
    "sk-proj-AbCdEfGh_1234-5678XyZ",  # OpenAI project key
    "sk-ant-api03-abcdefghijklmnopqrstuv",  # Anthropic key
    "Bearer abc.def.ghi123",
    "bearer abcdefgh12345678==",  # any case, base64 padding
    "BEARER   tok/en+value~1",
    "BeArEr  abcdefghij",
    "AKIAIOSFODNN7EXAMPLE",  # AWS access key id
    "ghp_" + "a1B2c3D4e5" * 4,  # GitHub tokens, each prefix
    "gho_" + "Z" * 20,
    "ghu_" + "0" * 36,
    "ghs_" + "x9" * 12,
    "ghr_" + "Q" * 40,
    "nvapi-" + "aB3" * 10,  # NVIDIA
    "xai-" + "k" * 40,  # xAI
    "gsk_" + "g1" * 20,  # Groq
    "hf_" + "H" * 34,  # Hugging Face
    "AIza" + "S" * 35,  # Google
    "github_pat_" + "1" * 30,
    "Basic dXNlcjpwYXNzd29yZA==",  # HTTP basic credentials
]

#: URLs and key=value pairs: what stays and what is redacted.
CREDENTIALS_IN_TEXT = [
    ("http://user:hunter22@db:5432/x", "http://[REDACTED]@db:5432/x"),
    ("https://tok@host/v1", "https://[REDACTED]@host/v1"),
    ("GET /v1?api_key=abc123&model=llama3", "GET /v1?api_key=[REDACTED]&model=llama3"),
    (
        "url.query: x-api-key=k1&KEY=k2&sig=s",
        "url.query: x-api-key=[REDACTED]&KEY=[REDACTED]&sig=[REDACTED]",
    ),
    ("password=hunter2 user=bob", "password=[REDACTED] user=bob"),
    ("client_secret=s3 max_tokens=10", "client_secret=[REDACTED] max_tokens=10"),
]

#: Near misses the default patterns leave alone (word boundaries, minimum lengths).
NOT_SECRETS = [
    "task-abcdefghijklmnopqrstu",  # "sk-" inside a word
    "sk-short",
    "Bearer short",
    "the bearer of good news",
    "AKIAIOSFODNN7EXAMPLEX",  # no boundary after 16 characters
    "AKIAshort",
    "xghp_" + "a" * 30,
    "ghp_" + "a" * 19,
    "high-quality thought, ghost_writer",
    "Basic authentication is required",
    "max_tokens=100 status_code=401",
    "see https://example.com/docs?page=2",
    "hf_short",
]


def reference_redact(text: str) -> str:
    """What redaction with the defaults means: each default pattern in turn, over all of it
    (a pattern's ``keep`` group stays)."""
    for pattern in _content.DEFAULT_REDACT_PATTERNS:
        template = _content.REDACTED
        if "(?P<keep>" in pattern:
            template = r"\g<keep>" + template
        text = re.sub(pattern, template, text)
    return text


@pytest.mark.parametrize(("text", "expected"), CREDENTIALS_IN_TEXT)
def test_credentials_in_urls_and_key_values_are_redacted(text: str, expected: str) -> None:
    assert _content.redact(text) == expected


def test_a_bearer_token_after_a_tab_in_captured_json_is_redacted() -> None:
    text = _content.to_json({"headers": "Authorization: Bearer\tabcdefgh12345678"})
    assert "abcdefgh12345678" not in text


def test_a_lone_surrogate_in_captured_content_becomes_a_replacement_character() -> None:
    text = _content.to_json({"file": "report-\udce9.txt"})
    text.encode("utf-8")
    assert json.loads(text) == {"file": "report-\ufffd.txt"}


def test_one_mask_for_health_and_content() -> None:
    from otel_agentkit.health import redact_text

    _content.set_redaction(replacement="<hidden>")
    try:
        assert redact_text("token=abc and sk-abcdefghijklmnopqrst", ["abc and"]) == (
            "token=<hidden> <hidden>"
        )
    finally:
        _content.set_redaction()


@pytest.mark.parametrize("secret", SECRET_SHAPES)
def test_every_default_secret_shape_is_redacted(secret: str) -> None:
    assert _content.redact(f"key: {secret} (do not share)") == "key: [REDACTED] (do not share)"
    text = _content.to_json({"note": f"use {secret} now", "n": 1})
    assert json.loads(text) == {"note": "use [REDACTED] now", "n": 1}


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_near_misses_are_left_alone(text: str) -> None:
    assert _content.redact(text) == text


#: Pieces of secrets and of their look-alikes, to build texts from.
PIECES = [
    "sk-", "proj-", "ant-", "Bearer", "bEaReR", " ", "\t", "\n", "AKIA", "gh", "p_", "o_",
    "s_", "_", "-", ".", "=", "/", "~", "+", "abcdefgh", "ABCDEFGHIJKLMNOP", "0123456789",
    "é", "\N{KELVIN SIGN}", "\N{LATIN SMALL LETTER LONG S}", '"', ":", "xyz",
    "://", "@", "?", "&", "api_", "key", "Token", "secret", "basic ", "nvapi-", "hf_",
    "AIza", "\\t", "9",
]  # fmt: skip
#: More pieces, for the pre-scan's gates: the parts of the tightened needles.
SCAN_PIECES = [
    *PIECES, "xox", "b-", "r-", "r8", "github", "pat", "u_", "r_", "gsk",
    "\N{LATIN CAPITAL LETTER I WITH DOT ABOVE}",
]  # fmt: skip


def _tricky_texts() -> list[str]:
    """Texts where secrets touch, overlap and hide among look-alikes, plus a seeded random mix."""
    texts = [
        "Bearer abcdefgh.sk-aaaaaaaa_bbbbbbbbbbbbbbbbb",  # bearer token swallowing part of a key
        "Bearer sk-proj-abcdefghijklmnopqrstu",
        "sk-sk-abcdefghijklmnopqrst",
        "AKIAAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLE",
        "ghp_ghp_" + "a" * 30,
        "\N{KELVIN SIGN}sk-abcdefghijklmnopqr bearer \N{KELVIN SIGN}" * 2 + "12345678",
        "\N{LATIN SMALL LETTER LONG S}k-abcdefghijklmnopqr",
        '{"a":"Bearer\\nabcdefghij","b":"x-sk-abcdefghijklmnopqrstuvwx"}',
        *SECRET_SHAPES,
        *NOT_SECRETS,
    ]
    rng = random.Random(12)
    texts.extend("".join(rng.choices(PIECES, k=rng.randint(1, 40))) for _ in range(3000))
    return texts


def test_redaction_results_equal_the_default_patterns_applied_in_turn() -> None:
    texts = _tricky_texts()
    assert [_content.redact(t) for t in texts] == [reference_redact(t) for t in texts]
    # Not vacuous: hundreds of the texts hold something the patterns catch.
    assert sum(reference_redact(t) != t for t in texts) > 200


def _holds_a_needle(text: str) -> bool:
    """Whether a default pattern's needle is in ``text`` (a lower-case one: in its lower case)."""
    lowered = text.lower()
    return any(
        needle in (lowered if index in _content._LOWER_NEEDLES else text)
        for index, needles in enumerate(_content._NEEDLES)
        for needle in needles
    )


def test_the_pre_scan_looks_for_exactly_the_needles() -> None:
    rng = random.Random(7)
    texts = [
        *_tricky_texts(),
        *("".join(rng.choices(SCAN_PIECES, k=rng.randint(1, 40))) for _ in range(3000)),
    ]
    assert [_content._may_hold_secret(t) for t in texts] == [_holds_a_needle(t) for t in texts]
    # Not vacuous: the texts go both ways.
    held = sum(map(_content._may_hold_secret, texts))
    assert 500 < held < len(texts) - 500


PROPERTY = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.parametrize(
    "index", range(len(_content.DEFAULT_REDACT_PATTERNS)), ids=lambda i: f"pattern{i}"
)
def test_a_text_a_default_pattern_matches_holds_one_of_its_needles(index: int) -> None:
    # Why skipping a text with no needle is safe: for each pattern, any text it
    # matches holds one of the pattern's needles, so the pre-scan sees it.
    pattern = re.compile(_content.DEFAULT_REDACT_PATTERNS[index])
    needles = _content._NEEDLES[index]

    @PROPERTY
    @given(st.from_regex(pattern))
    def check(text: str) -> None:
        assume(pattern.search(text))
        haystack = text.lower() if index in _content._LOWER_NEEDLES else text
        assert any(needle in haystack for needle in needles)
        assert _content._may_hold_secret(text)
        assert _content.redact(text) == reference_redact(text)

    check()


@PROPERTY
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=30).map("".join))
def test_a_text_the_pre_scan_passes_over_is_left_alone_by_every_default_pattern(
    text: str,
) -> None:
    if not _content._may_hold_secret(text):
        assert reference_redact(text) == text
    assert _content.redact(text) == reference_redact(text)


#: Strings for the fast messages path: unicode, control characters, quotes,
#: backslashes, secrets whole and in pieces, and empty.
MESSAGE_STRINGS = [
    "",
    "Say hello.",
    "user",
    "assistant",
    "stop",
    "tool_calls",
    'She said "hi" \\ then left',
    "tab\tnew\nline\rcarriage\x00nul\x08bs\x0cff\x1f\x7f",
    "\b" + "asic QWxhZGRpbjpvcGVuIHNlc2FtZQ1",  # backspace then "asic": JSON \basic
    "\r" + "8_abcdefghijklmnopqrstuvwx",  # carriage return then "8_": JSON \r8_
    "héllo wörld ✓ 日本語 \N{KELVIN SIGN}ey=abc \N{LATIN CAPITAL LETTER I WITH DOT ABOVE}",
    "report-\udce9.txt",
    "emoji \U0001f600 and a Σ at the enΣ",
    "use sk-abcdefghijklmnopqrstuvwx now",
    "Authorization: Bearer abcdefgh12345678",
    "https://user:hunter22@db/x?api_key=abc123&model=m",
    "ghp_" + "a" * 30,
    "finish_reason",
    "sk-",
    "-abcdefghijklmnopqrstuvwx",
    "x" * 9000,
    "Bearer " + "y" * 9300,
]


def _messages(rng: random.Random, pieces: list[str]) -> list[dict[str, Any]]:
    def text() -> str:
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))

    out: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 4)):
        message: dict[str, Any] = {
            "role": text(),
            "parts": [{"type": text(), "content": text()} for _ in range(rng.randint(0, 3))],
        }
        if rng.random() < 0.5:
            message["finish_reason"] = text()
        out.append(message)
    return out


def test_text_messages_are_written_as_the_general_path_writes_them() -> None:
    # The fast path (a list of text messages) against the general one: the same
    # value as a tuple is written by _plain_json / to_jsonable, as a JSON array.
    rng = random.Random(5)
    values = [
        [{"role": "user", "parts": [{"type": "text", "content": "Say hello."}]}],
        [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": "Hello there."}],
                "finish_reason": "stop",
            }
        ],
        [{"role": "user", "parts": []}],
        *(_messages(rng, MESSAGE_STRINGS) for _ in range(1500)),
        *(_messages(rng, SCAN_PIECES) for _ in range(1500)),
    ]
    secrets = 0
    for value in values:
        fast = _content._messages_json(value, 8192 + 1024)
        texts = [_content.to_json(value), _content.to_json(value, 50)]
        general = [_content.to_json(tuple(value)), _content.to_json(tuple(value), 50)]
        assert texts == general, value
        if fast is not None:
            assert _content._may_hold_secret(fast[1]) == _content._may_hold_secret(fast[0])
            secrets += _content.REDACTED in texts[0]
    # Not vacuous: nearly all took the fast path, and many had secrets redacted.
    assert sum(_content._messages_json(v, 9216) is not None for v in values) > 2000
    assert secrets > 300


@pytest.mark.parametrize(
    "value",
    [
        [{"parts": [], "role": "user"}],  # keys in another order
        [{"role": "user", "parts": [{"type": "text", "content": "x", "extra": 1}]}],
        [{"role": "user", "parts": [{"content": "x", "type": "text"}]}],
        [{"role": None, "parts": []}],
        [{"role": "user", "parts": ({"type": "text", "content": "x"},)}],
        [{"role": "user", "parts": [{"type": "text", "content": 3}]}],
        [{"role": "user", "parts": [], "finish_reason": None}],
        [{"role": "user", "parts": [{"type": "text", "content": "x" * 10_000}]}],
    ],
)
def test_other_shapes_of_messages_take_the_general_path(value: list[Any]) -> None:
    assert _content._messages_json(value, 9216) is None
    assert _content.to_json(value) == _content.to_json(tuple(value))


@pytest.mark.parametrize(
    "configure",
    [
        lambda: _content.set_redaction(keys=["content"]),
        lambda: _content.set_redaction([r"Say"]),
        lambda: _content.set_redaction(hook=lambda text: text.replace('"role"', '"who"')),
    ],
)
def test_messages_are_redacted_whole_when_redaction_is_configured(configure: Any) -> None:
    value = [{"role": "user", "parts": [{"type": "text", "content": "Say hello."}]}]
    unconfigured = _content.to_json(value)
    configure()
    assert _content.to_json(value) == _content.to_json(tuple(value)) != unconfigured


def test_the_pre_scan_gates_stand_for_the_needles_behind_them() -> None:
    for scan in (_content._SCAN, _content._SCAN_LOWER):
        for gate, needles in scan:
            assert all(gate in needle for needle in needles)
    scanned = [n for _, needles in _content._SCAN + _content._SCAN_LOWER for n in needles]
    assert sorted(scanned) == sorted(n for needles in _content._NEEDLES for n in needles)


def test_only_ascii_letters_match_bearer_case_insensitively() -> None:
    # The fast path looks for "bearer" in text.lower(), and its detector spells the
    # first letter as B or b: both rely on this.
    every_character = "".join(map(chr, range(0x110000)))
    matched = re.findall(r"(?i)[bear]", every_character)
    assert sorted(matched) == sorted("bearBEAR")


def test_plain_values_are_encoded_as_the_careful_path_encodes_them() -> None:
    nested: Any = "leaf"
    for _ in range(20):
        nested = {"k": [nested]}
    values: list[Any] = [
        [{"role": "user", "parts": [{"type": "text", "content": "Say hello."}]}],
        {"text": 'quotes " and \\ backslash, \n newline, \x00 nul, \u2028, é, 日本, 🎉'},
        {"numbers": [0, -1, 2**70, 1.5, -0.0, 1e100, 1e-7, True, False, None]},
        {"empty": [{}, [], (), ""], "tuple": (1, "a")},
        {"nan": float("nan"), "inf": [float("-inf")]},
        {1: "int key", "b": {"Password": "hunter2", "ok": "yes"}},
        {"deep": nested},
        ["x" * 20_000],
        list(range(1500)),
        {"enum": Color.RED, "q": Query("weather", 3)},
        ["s", b"bytes", {"set": {1}}],
    ]
    for value in values:
        careful = _content.to_jsonable(value, max_string=10**5 + 1024)
        expected = json.dumps(careful, ensure_ascii=False, separators=(",", ":"))
        assert _content.to_json(value, max_length=10**5) == expected


def test_secret_keys_are_redacted_however_often_plain_keys_repeat() -> None:
    for _ in range(3):
        assert json.loads(_content.to_json([{"pin": "1", "note": "x"}])) == [
            {"pin": "1", "note": "x"}
        ]
    _content.set_redaction(keys=["pin"])
    assert json.loads(_content.to_json([{"pin": "1", "note": "x"}])) == [
        {"pin": "[REDACTED]", "note": "x"}
    ]
    _content.set_redaction()
    assert json.loads(_content.to_json({"PIN": "1"})) == {"PIN": "1"}


def test_import_compiles_no_pattern_and_builds_no_encoder() -> None:
    code = (
        "import otel_agentkit._content as c; "
        "print(c._default_rules is None, c._json_chunks is c._not_loaded); "
        "c.to_json('sk-abcdefghijklmnopqrst'); "
        "print(c._default_rules is None, c._json_chunks is c._not_loaded)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True", "False", "False"]
