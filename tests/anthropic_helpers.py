"""Replay recorded Anthropic traffic through the real anthropic client.

anthropic 2.x (and late 1.x) sends through ``httpx2`` and rejects an
``httpx.Client``; older versions take an ``httpx.Client``. :class:`Cassette` gives the client the
``MockTransport`` of the stack it uses, as its ``http_client``: the client
builds, sends, parses and streams exactly as it does against the network;
only the bytes come from the recording.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import anthropic

from tests import cassette_replay

#: What tests use as the API key: it must never appear in any telemetry.
SECRET_KEY = "sk-ant-api03-TESTSECRET"
BASE_URL = "https://api.anthropic.com"

FIXTURES_DIR = Path(__file__).parent / "fixtures" / "anthropic"

#: The arguments ``messages.create`` of the installed client takes. A recorded
#: body key it does not take (sampling parameters, which recent versions dropped;
#: ``thinking`` on old versions) is sent in ``extra_body``: the same bytes on the wire.
_CREATE_PARAMETERS = frozenset(
    inspect.signature(
        importlib.import_module("anthropic.resources.messages").Messages.create
    ).parameters
)

ANTHROPIC_MAJOR = int(anthropic.__version__.split(".")[0])

#: Whether the installed anthropic traces its own calls (anthropic 1.17+ and 2.x).
SDK_TRACES = hasattr(importlib.import_module("anthropic._base_client"), "start_api_call_span")


def http_module() -> Any:
    """The HTTP library the installed anthropic sends through (``httpx2`` or ``httpx``)."""
    import anthropic._base_client as base

    return getattr(base, "httpx2", None) or base.httpx


class Cassette(cassette_replay.Cassette):
    """One recorded conversation with the Anthropic API, with clients that replay it."""

    def normalise_url(self, url: str) -> str:
        # Older clients marked beta calls with ``?beta=true``; newer ones send the same
        # request to the plain URL. Same endpoint, same body: match either way.
        return url.replace("?beta=true", "")

    def client(self, **kwargs: Any) -> anthropic.Anthropic:
        http = http_module()
        return anthropic.Anthropic(
            api_key=SECRET_KEY,
            base_url=kwargs.pop("base_url", BASE_URL),
            http_client=http.Client(transport=self.transport(http)),
            max_retries=0,
            **kwargs,
        )

    def async_client(self, **kwargs: Any) -> anthropic.AsyncAnthropic:
        http = http_module()
        return anthropic.AsyncAnthropic(
            api_key=SECRET_KEY,
            base_url=kwargs.pop("base_url", BASE_URL),
            http_client=http.AsyncClient(transport=self.transport(http)),
            max_retries=0,
            **kwargs,
        )


def request_kwargs(cassette: Cassette, index: int = 0) -> dict[str, Any]:
    """The recorded request body as keyword arguments for ``messages.create``.

    ``stream`` is left out (the caller chooses ``create(stream=True)`` or
    ``stream()``); keys this client version takes no argument for go in ``extra_body``.
    """
    kwargs = dict(cassette.request_json(index))
    kwargs.pop("stream", None)
    extra = {k: kwargs.pop(k) for k in list(kwargs) if k not in _CREATE_PARAMETERS}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def fixture_cassette(name: str) -> Cassette:
    """A small self-written recording under tests/fixtures/anthropic (always present)."""
    return Cassette(FIXTURES_DIR / name)
