"""Replay recorded Anthropic traffic through the real anthropic client.

anthropic 2.x sends through ``httpx2`` and rejects an ``httpx.Client``;
1.x and 0.x take an ``httpx.Client``. :class:`Cassette` gives the client the
``MockTransport`` of the stack it uses, as its ``http_client``: the client
builds, sends, parses and streams exactly as it does against the network;
only the bytes come from the recording.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic

from tests import cassette_replay

#: What tests use as the API key: it must never appear in any telemetry.
SECRET_KEY = "sk-ant-api03-TESTSECRET"
BASE_URL = "https://api.anthropic.com"

FIXTURES_DIR = Path(__file__).parent / "fixtures" / "anthropic"

#: anthropic 2.x removed these from the method signatures; they go in extra_body.
_EXTRA_BODY_ARGS = ("temperature", "top_p", "top_k")

ANTHROPIC_MAJOR = int(anthropic.__version__.split(".")[0])


def http_module() -> Any:
    """The HTTP library the installed anthropic sends through."""
    if ANTHROPIC_MAJOR >= 2:
        import httpx2

        return httpx2
    import httpx

    return httpx


class Cassette(cassette_replay.Cassette):
    """One recorded conversation with the Anthropic API, with clients that replay it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        if ANTHROPIC_MAJOR >= 2:
            # Older clients marked beta calls with ``?beta=true``; 2.x sends the same
            # request to the plain URL. Same endpoint, same body: match it.
            for interaction in self.interactions:
                request = interaction["request"]
                request["uri"] = request["uri"].replace("?beta=true", "")

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
    ``stream()``); on anthropic 2.x, sampling parameters move to ``extra_body``.
    """
    kwargs = dict(cassette.request_json(index))
    kwargs.pop("stream", None)
    if ANTHROPIC_MAJOR >= 2:
        extra = {k: kwargs.pop(k) for k in _EXTRA_BODY_ARGS if k in kwargs}
        if extra:
            kwargs["extra_body"] = extra
    return kwargs


def fixture_cassette(name: str) -> Cassette:
    """A small self-written recording under tests/fixtures/anthropic (always present)."""
    return Cassette(FIXTURES_DIR / name)
