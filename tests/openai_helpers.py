"""Replay recorded OpenAI traffic through the real openai client.

A :class:`Cassette` reads a VCR.py YAML file; :meth:`Cassette.transport` is an
``httpx.MockTransport`` (the openai client's own transport hook, accepted as
``http_client`` by openai 1.x, 2.x and 3.x) that answers each request with the
recorded response for the same method and URL, in recorded order. Nothing
else is mocked: the openai client builds, sends, retries (off), parses and
streams exactly as it does against the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai

from tests import cassette_replay

#: What tests use as the API key: it must never appear in any telemetry.
SECRET_KEY = "sk-test-SECRET"
BASE_URL = "https://api.openai.com/v1"

FIXTURES_DIR = Path(__file__).parent / "fixtures" / "openai"


class Cassette(cassette_replay.Cassette):
    """One recorded conversation with the OpenAI API, with clients that replay it."""

    def client(self, **kwargs: Any) -> openai.OpenAI:
        return openai.OpenAI(
            api_key=SECRET_KEY,
            base_url=kwargs.pop("base_url", BASE_URL),
            http_client=httpx.Client(transport=self.transport()),
            max_retries=0,
            **kwargs,
        )

    def native_client(self) -> openai.OpenAI:
        """A client on openai 3.x's own HTTP stack (``httpx2``)."""
        import httpx2

        return openai.OpenAI(
            api_key=SECRET_KEY,
            base_url=BASE_URL,
            http_client=httpx2.Client(transport=self.transport(httpx2)),
            max_retries=0,
        )

    def async_client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key=SECRET_KEY,
            base_url=kwargs.pop("base_url", BASE_URL),
            http_client=httpx.AsyncClient(transport=self.transport()),
            max_retries=0,
            **kwargs,
        )


def request_kwargs(cassette: Cassette, index: int = 0) -> dict[str, Any]:
    """The recorded request body as keyword arguments for the client method."""
    return dict(cassette.request_json(index))


def fixture_cassette(name: str) -> Cassette:
    """A small self-written recording under tests/fixtures/openai (always present)."""
    return Cassette(FIXTURES_DIR / name)
