"""Content capture: mode parsing, JSON serialisation, redaction, truncation."""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

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
