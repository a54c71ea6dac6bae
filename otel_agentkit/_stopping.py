"""Block a command until it is asked to stop: Ctrl-C, or SIGTERM (``otel-agentkit ... --serve``)."""

from __future__ import annotations

import signal
import threading


def stop_on_sigterm() -> threading.Event:
    """An event that SIGTERM sets (the handler is installed now, in the main thread)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    return stop


def serve_until_stopped(stop: threading.Event | None = None) -> None:
    """Block until Ctrl-C, or SIGTERM (or ``stop`` set by :func:`stop_on_sigterm`)."""
    stop = stop or stop_on_sigterm()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
