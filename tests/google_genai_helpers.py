"""Replay recorded Google Gen AI traffic through the real ``google-genai`` client.

:class:`GenAICassette` is the shared :class:`~tests.cassette_replay.Cassette`
(VCR YAML, a ``MockTransport`` answering each request with the recorded
response for the same method and URL) plus the clients: the SDK takes an
``httpx.Client`` / ``httpx.AsyncClient`` in ``http_options``, so the
recording plugs in under the SDK's own HTTP stack. A recording of
``*-aiplatform.googleapis.com`` is replayed through a Vertex AI client
(project ``test-project``, location ``test-location``, as the recorder
rewrote them), any other through a Gemini Developer API client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials

from tests.cassette_replay import Cassette

FIXTURES_DIR = Path(__file__).parent / "fixtures" / "google_genai"
#: The API key Gemini clients are made with: it must never reach telemetry.
SECRET_KEY = "gemini-SECRET-api-key"
VERTEX_HOST = "test-location-aiplatform.googleapis.com"
GEMINI_HOST = "generativelanguage.googleapis.com"


class GenAICassette(Cassette):
    """One recorded conversation with the Gemini API or Vertex AI."""

    @property
    def vertex(self) -> bool:
        return VERTEX_HOST in self.interactions[0]["request"]["uri"]

    @property
    def host(self) -> str:
        return VERTEX_HOST if self.vertex else GEMINI_HOST

    def model(self, index: int = 0) -> str:
        """The model named in the recorded URL (``.../models/{model}:generateContent``)."""
        uri: str = self.interactions[index]["request"]["uri"]
        return uri.rsplit("/models/", 1)[1].split(":", 1)[0]

    def streamed(self, index: int = 0) -> bool:
        return ":streamGenerateContent" in self.interactions[index]["request"]["uri"]

    def _client(self, **http: Any) -> genai.Client:
        options = types.HttpOptions(**http)
        if self.vertex:
            return genai.Client(
                vertexai=True,
                project="test-project",
                location="test-location",
                credentials=Credentials(token="vertex-SECRET-token"),
                http_options=options,
            )
        options.api_version = "v1beta"  # 3.x defaults to v1; the recordings are v1beta
        return genai.Client(api_key=SECRET_KEY, http_options=options)

    def client(self) -> genai.Client:  # type: ignore[override]
        return self._client(httpx_client=httpx.Client(transport=self.transport()))

    def async_client(self) -> genai.Client:  # type: ignore[override]
        return self._client(httpx_async_client=httpx.AsyncClient(transport=self.transport()))


def fixture_cassette(name: str) -> GenAICassette:
    """A small self-written recording under tests/fixtures/google_genai (always present)."""
    return GenAICassette(FIXTURES_DIR / name)
