"""The counter recording API (otel_agentkit.metrics) and the per-provider instrument cache."""

from __future__ import annotations

import pytest

from otel_agentkit import _instruments, _providers, metrics, semconv
from otel_agentkit.testing import TelemetryCapture, capture_telemetry


def test_scheduler_notification_and_rate_limit_counters(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    metrics.record_scheduler_trigger("nightly-digest")
    metrics.record_scheduler_trigger("nightly-digest")
    metrics.record_notification("slack")
    metrics.record_notification("email", semconv.NOTIFICATION_STATUS_FAILED)
    metrics.record_rate_limit_exceeded("/v1/chat")

    (trigger,) = agentkit_telemetry.metric_points(semconv.AGENTKIT_SCHEDULER_TRIGGERS)
    assert dict(trigger.attributes) == {semconv.AGENTKIT_SCHEDULER_JOB: "nightly-digest"}
    assert trigger.value == 2

    notifications = {
        (
            p.attributes[semconv.AGENTKIT_NOTIFICATION_CHANNEL],
            p.attributes[semconv.AGENTKIT_NOTIFICATION_STATUS],
        ): p.value
        for p in agentkit_telemetry.metric_points(semconv.AGENTKIT_NOTIFICATIONS)
    }
    assert notifications == {("slack", "sent"): 1, ("email", "failed"): 1}

    (limited,) = agentkit_telemetry.metric_points(semconv.AGENTKIT_RATE_LIMIT_EXCEEDED)
    assert dict(limited.attributes) == {semconv.AGENTKIT_RATE_LIMIT_ENDPOINT: "/v1/chat"}
    assert limited.value == 1

    for name in (
        semconv.AGENTKIT_SCHEDULER_TRIGGERS,
        semconv.AGENTKIT_NOTIFICATIONS,
        semconv.AGENTKIT_RATE_LIMIT_EXCEEDED,
    ):
        metric = agentkit_telemetry.metric(name)
        assert metric.data.is_monotonic
        for point in metric.data.data_points:
            assert set(point.attributes) <= semconv.METRIC_ATTRIBUTE_ALLOWLIST


def test_recording_without_sdk_does_nothing_and_never_raises() -> None:
    metrics.record_scheduler_trigger("job")
    metrics.record_notification("webhook", "retried")
    metrics.record_rate_limit_exceeded("/x")
    assert _instruments.current() is None


def test_instruments_are_built_once_per_provider_pair() -> None:
    with capture_telemetry() as first:
        a = _instruments.current()
        assert a is not None
        assert _instruments.current() is a
        a.execute_tool_duration.record(0.5)
        assert first.metric_points(semconv.GEN_AI_EXECUTE_TOOL_DURATION)[0].count == 1
    assert _instruments.current() is None
    with capture_telemetry() as second:
        b = _instruments.current()
        assert b is not None
        assert b is not a  # new providers: new instruments, recording to the new reader
        b.execute_tool_duration.record(0.5)
        assert second.metric_points(semconv.GEN_AI_EXECUTE_TOOL_DURATION)[0].count == 1


def test_metric_attributes_keep_only_the_allow_list() -> None:
    kept = _instruments.metric_attributes(
        {
            semconv.GEN_AI_TOOL_NAME: "search",
            semconv.GEN_AI_CONVERSATION_ID: "conv-1",
            "user.id": "u-1",
            semconv.ERROR_TYPE: None,
        }
    )
    assert kept == {semconv.GEN_AI_TOOL_NAME: "search"}


@pytest.mark.parametrize(
    "name",
    [
        semconv.AGENTKIT_SCHEDULER_TRIGGERS,
        semconv.AGENTKIT_NOTIFICATIONS,
        semconv.AGENTKIT_RATE_LIMIT_EXCEEDED,
        semconv.AGENTKIT_GUARDRAIL_VIOLATIONS,
    ],
)
def test_counter_names_translate_cleanly_for_prometheus(name: str) -> None:
    translated = semconv.prometheus_name(name) + "_total"
    assert translated.replace("_", "").isalnum()
    assert translated == translated.lower()


def test_public_lookup_fallback_matches_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """With OTEL_PYTHON_*_PROVIDER set at import, lookups go through the public API."""
    monkeypatch.setattr(_providers, "_FAST_LOOKUP", False)
    assert _instruments.current() is None
    with capture_telemetry() as capture:
        inst = _instruments.current()
        assert inst is not None
        assert _instruments.current() is inst
        metrics.record_rate_limit_exceeded("/y")
        (point,) = capture.metric_points(semconv.AGENTKIT_RATE_LIMIT_EXCEEDED)
        assert point.value == 1
