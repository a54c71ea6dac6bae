"""Exceptions raised by otel-agentkit."""

from __future__ import annotations


class AgentkitError(Exception):
    """Base class for every error otel-agentkit raises on purpose."""


class ConfigurationError(AgentkitError, ValueError):
    """A setting (argument or environment variable) has a value we cannot use.

    The message names the setting and, unless it may hold a secret, the value.
    ``setting`` and ``value`` are also available as attributes.
    """

    def __init__(self, setting: str, value: object, problem: str, *, secret: bool = False) -> None:
        self.setting = setting
        self.value = None if secret else value
        shown = "<redacted>" if secret else repr(value)
        super().__init__(f"{setting}={shown}: {problem}")
