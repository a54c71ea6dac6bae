"""Entry points for the ``opentelemetry-instrument`` launcher (zero-code path).

``opentelemetry-instrument python app.py`` loads the ``agentkit`` distro and
configurator registered by this package, so the app gets the same providers,
Views and Prometheus reader as :func:`otel_agentkit.configure`, driven by
environment variables only.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.sdk._configuration import _BaseConfigurator

from otel_agentkit.errors import ConfigurationError

_log = logging.getLogger("otel_agentkit")

#: Name of our entry point in the ``opentelemetry_configurator`` group.
CONFIGURATOR_NAME = "agentkit"


class AgentkitDistro(BaseDistro):  # type: ignore[misc]
    """Selects the ``agentkit`` configurator unless ``OTEL_PYTHON_CONFIGURATOR`` says otherwise."""

    def _configure(self, **kwargs: Any) -> None:
        os.environ.setdefault("OTEL_PYTHON_CONFIGURATOR", CONFIGURATOR_NAME)


class AgentkitConfigurator(_BaseConfigurator):
    """Runs :func:`otel_agentkit.configure` from environment variables."""

    def _configure(self, **kwargs: Any) -> None:
        from otel_agentkit.telemetry import configure

        try:
            configure()
        except ConfigurationError as exc:
            # The launcher must never stop the app from starting: report the
            # setting clearly, without a stack trace, and run uninstrumented.
            _log.error("otel-agentkit: telemetry not configured: %s", exc)
