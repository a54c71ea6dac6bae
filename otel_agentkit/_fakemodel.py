"""The deterministic "model" behind :class:`~otel_agentkit.testing.FakeModelServer`.

Turns an OpenAI-style request body into a reply and the reply into the JSON
payloads (or server-sent events) the Chat Completions, Responses and
Embeddings APIs answer with. No network, no randomness, no clock: the same
request always gets the same reply, token counts and ids (ids count up per
server).

How a reply is chosen, when nothing was scripted with ``reply_next``:

* the conversation ends with tool results -> a text answer quoting them;
* tools are offered and ``tool_choice`` allows calling them -> a call to each
  tool one of whose name words (split at ``_``, ``-``, ``.`` and camelCase,
  four letters or more) appears in the last user message (only the first when
  ``parallel_tool_calls`` is false); ``tool_choice`` naming a function calls
  it; ``"required"`` calls the first tool when none matches;
* otherwise -> ``"Fake reply to: <the last user message>"``.

Tool arguments are filled from each tool's JSON schema: an ``enum`` property
gets the first value the message mentions (else the first value), a string
the message itself, a number the first number in the message (else 1), a
boolean ``true``. Token counts are whitespace-separated words: input tokens
count every text of the request (messages, instructions, tool arguments and
results), output tokens the reply's words (a tool call: its name and
arguments). Imports only the standard library.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_MODEL",
    "Failure",
    "Reply",
    "ToolCall",
    "count_tokens",
    "fake_embedding",
]

#: Listed by ``GET /v1/models`` when the server accepts any model.
DEFAULT_MODEL: Final = "fake-model"
DEFAULT_EMBEDDING_MODEL: Final = "fake-embedding"
DEFAULT_DIMENSIONS: Final = 16
#: ``created`` of every reply: a fixed time keeps replies byte-for-byte repeatable.
CREATED: Final = 1_700_000_000

_WORD = re.compile(r"[a-z0-9]+")
_NAME_PART = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_PIECE = re.compile(r"\s*\S+")


def count_tokens(text: str) -> int:
    """The fake server's token count of ``text``: its whitespace-separated words."""
    return len(text.split())


def fake_embedding(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """A deterministic unit vector for ``text``: hashed bag of words.

    Texts sharing words point in similar directions, so a similarity search
    over these vectors finds documents that share words with the query.
    """
    vector = [0.0] * dimensions
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "little") % dimensions
        vector[slot] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        vector[0], norm = 1.0, 1.0
    return [v / norm for v in vector]


@dataclass(frozen=True)
class ToolCall:
    """A tool call the fake model makes: ``arguments`` as a mapping, or raw text.

    Raw text is sent as it is, so ``ToolCall("f", '{"city": ')`` sends broken
    JSON; :meth:`broken` makes one.
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)

    @classmethod
    def broken(cls, name: str) -> ToolCall:
        """A call to ``name`` whose arguments are truncated, invalid JSON."""
        return cls(name, '{"query": "unterminated')

    @property
    def arguments_json(self) -> str:
        """The arguments as sent on the wire."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


@dataclass(frozen=True)
class Reply:
    """What the fake model answers: text, tool calls, or both."""

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()

    @classmethod
    def of(cls, value: str | ToolCall | Sequence[ToolCall] | Reply) -> Reply:
        """A reply from text, one tool call, several tool calls or a reply."""
        if isinstance(value, Reply):
            return value
        if isinstance(value, str):
            return cls(text=value)
        if isinstance(value, ToolCall):
            return cls(tool_calls=(value,))
        return cls(tool_calls=tuple(value))


@dataclass(frozen=True)
class Failure:
    """An error answer: the HTTP status and an OpenAI-style error body.

    429 is a rate limit (with ``retry-after`` headers when ``retry_after`` is
    given), 5xx a server error, 404 an unknown model.
    """

    status: int = 500
    message: str | None = None
    retry_after: float | None = None

    def body(self) -> dict[str, Any]:
        """The ``{"error": {...}}`` body OpenAI-compatible servers send."""
        kind, code = _ERROR_KINDS.get(self.status, ("server_error", None))
        if self.status < 500 and self.status not in _ERROR_KINDS:
            kind = "invalid_request_error"
        message = self.message or _DEFAULT_MESSAGES.get(
            self.status, f"The fake model server answered HTTP {self.status}."
        )
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def headers(self) -> dict[str, str]:
        """Extra response headers (``retry-after`` for a scripted rate limit)."""
        if self.retry_after is None:
            return {}
        return {
            "retry-after": str(math.ceil(self.retry_after)),
            "retry-after-ms": str(int(self.retry_after * 1000)),
        }


_ERROR_KINDS: Final[dict[int, tuple[str, str | None]]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
_DEFAULT_MESSAGES: Final[dict[int, str]] = {
    401: "Incorrect API key provided.",
    429: "Rate limit reached for requests (scripted by the fake model server).",
    500: "The server had an error while processing your request (scripted).",
    503: "The server is overloaded (scripted).",
}


# ---------------------------------------------------------------------------
# Reading a request
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tool:
    name: str
    parameters: Mapping[str, Any]


@dataclass
class Conversation:
    """What the fake model looks at in a request, whichever API it came through."""

    last_user_text: str = ""
    #: (tool name, result text) of the tool results that end the conversation.
    tool_results: list[tuple[str, str]] = field(default_factory=list)
    tools: list[_Tool] = field(default_factory=list)
    tool_choice: Any = "auto"
    parallel: bool = True
    input_tokens: int = 0
    max_tokens: int | None = None


def _text_of(content: Any) -> str:
    """The text of a message content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, Mapping)]
        return " ".join(t for t in texts if isinstance(t, str))
    return ""


def _tools(raw: Any) -> list[_Tool]:
    tools: list[_Tool] = []
    for item in raw if isinstance(raw, list) else ():
        if not isinstance(item, Mapping):
            continue
        function = item.get("function")  # chat: {"function": {...}}; responses: flat
        spec: Mapping[str, Any] = function if isinstance(function, Mapping) else item
        name = spec.get("name")
        if isinstance(name, str):
            params = spec.get("parameters")
            tools.append(_Tool(name, params if isinstance(params, Mapping) else {}))
    return tools


def _max_tokens(body: Mapping[str, Any], *names: str) -> int | None:
    for name in names:
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _conversation(body: Mapping[str, Any], *max_token_names: str) -> Conversation:
    """A conversation with the tool settings both APIs spell alike; no messages yet."""
    return Conversation(
        tools=_tools(body.get("tools")),
        tool_choice=body.get("tool_choice", "auto"),
        parallel=body.get("parallel_tool_calls") is not False,
        max_tokens=_max_tokens(body, *max_token_names),
    )


def read_chat(body: Mapping[str, Any]) -> Conversation:
    """The conversation of a ``/v1/chat/completions`` request body."""
    conv = _conversation(body, "max_completion_tokens", "max_tokens")
    names: dict[str, str] = {}
    words = 0
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else ():
        if not isinstance(message, Mapping):
            continue
        role, text = message.get("role"), _text_of(message.get("content"))
        words += count_tokens(text)
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                names[str(call.get("id"))] = str(function.get("name", "tool"))
                words += count_tokens(str(function.get("arguments", "")))
        if role == "tool":
            conv.tool_results.append((names.get(str(message.get("tool_call_id")), "tool"), text))
        else:
            conv.tool_results.clear()
            if role == "user":
                conv.last_user_text = text
    conv.input_tokens = max(1, words)
    return conv


def read_responses(body: Mapping[str, Any]) -> Conversation:
    """The conversation of a ``/v1/responses`` request body."""
    conv = _conversation(body, "max_output_tokens")
    words = count_tokens(_text_of(body.get("instructions")))
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    names: dict[str, str] = {}
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type", "message")
        if kind == "function_call":
            names[str(item.get("call_id"))] = str(item.get("name", "tool"))
            words += count_tokens(str(item.get("arguments", "")))
            conv.tool_results.clear()
        elif kind == "function_call_output":
            output = _text_of(item.get("output"))
            words += count_tokens(output)
            conv.tool_results.append((names.get(str(item.get("call_id")), "tool"), output))
        elif kind == "message":
            text = _text_of(item.get("content"))
            words += count_tokens(text)
            conv.tool_results.clear()
            if item.get("role") == "user":
                conv.last_user_text = text
    conv.input_tokens = max(1, words)
    return conv


# ---------------------------------------------------------------------------
# Choosing a reply
# ---------------------------------------------------------------------------


def _name_words(name: str) -> set[str]:
    return {w.lower() for w in _NAME_PART.split(name) if len(w) >= 4}


def _argument(schema: Mapping[str, Any], text: str) -> Any:
    lowered = text.lower()
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return next((v for v in enum if str(v).lower() in lowered), enum[0])
    kind = schema.get("type")
    if kind in ("number", "integer"):
        found = _NUMBER.search(text)
        if found is None:
            return 1
        number = float(found.group())
        return int(number) if kind == "integer" or number.is_integer() else number
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return text


def _arguments(tool: _Tool, text: str) -> dict[str, Any]:
    properties = tool.parameters.get("properties")
    if not isinstance(properties, Mapping):
        return {}
    required = tool.parameters.get("required")
    names = required if isinstance(required, list) else list(properties)
    return {
        name: _argument(properties.get(name) or {}, text)
        for name in names
        if isinstance(properties.get(name, {}), Mapping)
    }


def _forced_name(choice: Any) -> str | None:
    if not isinstance(choice, Mapping):
        return None
    function = choice.get("function")
    name = function.get("name") if isinstance(function, Mapping) else choice.get("name")
    return name if isinstance(name, str) else None


def choose_reply(conv: Conversation) -> Reply:
    """The deterministic reply to a conversation (see the module docstring)."""
    if conv.tool_results:
        found = "; ".join(f"{name}: {result[:200]}" for name, result in conv.tool_results)
        return Reply(text=f"Here is what I found. {found}")
    choice = conv.tool_choice
    if conv.tools and choice != "none":
        forced = _forced_name(choice)
        if forced is not None:
            chosen = [t for t in conv.tools if t.name == forced][:1] or [_Tool(forced, {})]
        else:
            words = set(_WORD.findall(conv.last_user_text.lower()))
            chosen = [t for t in conv.tools if _name_words(t.name) & words]
            if not chosen and choice == "required":
                chosen = conv.tools[:1]
        if chosen:
            if not conv.parallel:
                chosen = chosen[:1]
            return Reply(
                tool_calls=tuple(
                    ToolCall(t.name, _arguments(t, conv.last_user_text)) for t in chosen
                )
            )
    return Reply(text=f"Fake reply to: {conv.last_user_text}".rstrip())


def _truncate(text: str, limit: int | None) -> tuple[str, bool]:
    pieces = _PIECE.findall(text)
    if limit is None or len(pieces) <= limit:
        return text, False
    return "".join(pieces[:limit]), True


# ---------------------------------------------------------------------------
# Payloads
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A reply made concrete for one request: ids, text pieces and token counts."""

    number: int
    model: str
    reply: Reply
    text: str | None
    truncated: bool
    input_tokens: int

    @classmethod
    def build(cls, number: int, model: str, reply: Reply, conv: Conversation) -> Answer:
        text, truncated = (None, False)
        if reply.text is not None:
            text, truncated = _truncate(reply.text, conv.max_tokens)
        return cls(number, model, reply, text, truncated, conv.input_tokens)

    @property
    def output_tokens(self) -> int:
        words = count_tokens(self.text or "")
        for call in self.reply.tool_calls:
            words += 1 + count_tokens(call.arguments_json)
        return max(1, words)

    @property
    def pieces(self) -> list[str]:
        """The text as streamed: one piece per word, leading whitespace kept."""
        return _PIECE.findall(self.text or "")

    def call_id(self, index: int) -> str:
        return f"call_fake_{self.number:06d}_{index}"

    # -- Chat Completions ---------------------------------------------------

    def _chat_finish(self) -> str:
        if self.reply.tool_calls:
            return "tool_calls"
        return "length" if self.truncated else "stop"

    def _chat_usage(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.input_tokens,
            "completion_tokens": self.output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }

    def _chat_base(self, kind: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-fake-{self.number:06d}",
            "object": kind,
            "created": CREATED,
            "model": self.model,
            "system_fingerprint": "fp_fake",
        }

    def chat_completion(self, choices: int = 1) -> dict[str, Any]:
        """The ``chat.completion`` object of a non-streaming request."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text, "refusal": None}
        if self.reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": self.call_id(i),
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments_json},
                }
                for i, c in enumerate(self.reply.tool_calls)
            ]
        return {
            **self._chat_base("chat.completion"),
            "choices": [
                {
                    "index": i,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self._chat_finish(),
                }
                for i in range(choices)
            ],
            "usage": self._chat_usage(),
        }

    def chat_chunks(
        self, choices: int = 1, include_usage: bool = False
    ) -> Iterator[dict[str, Any]]:
        """The ``chat.completion.chunk`` objects of a streaming request, in order."""
        base = self._chat_base("chat.completion.chunk")

        def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**base, "choices": [choice]}

        for index in range(choices):
            yield chunk(index, {"role": "assistant", "content": "", "refusal": None})
            for piece in self.pieces:
                yield chunk(index, {"content": piece})
            for i, call in enumerate(self.reply.tool_calls):
                head = {"name": call.name, "arguments": ""}
                first = {"index": i, "id": self.call_id(i), "type": "function", "function": head}
                yield chunk(index, {"tool_calls": [first]})
                arguments = call.arguments_json
                half = len(arguments) // 2
                for part in (arguments[:half], arguments[half:]):
                    if part:
                        yield chunk(
                            index, {"tool_calls": [{"index": i, "function": {"arguments": part}}]}
                        )
            yield chunk(index, {}, self._chat_finish())
        if include_usage:
            yield {**base, "choices": [], "usage": self._chat_usage()}

    # -- Responses ----------------------------------------------------------

    def _response_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if self.text is not None:
            items.append(
                {
                    "id": f"msg_fake_{self.number:06d}",
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [
                        {
                            "type": "output_text",
                            "text": self.text,
                            "annotations": [],
                            "logprobs": [],
                        }
                    ],
                }
            )
        for i, call in enumerate(self.reply.tool_calls):
            items.append(
                {
                    "id": f"fc_fake_{self.number:06d}_{i}",
                    "type": "function_call",
                    "status": "completed",
                    "call_id": self.call_id(i),
                    "name": call.name,
                    "arguments": call.arguments_json,
                }
            )
        return items

    def response(self, request: Mapping[str, Any], *, done: bool = True) -> dict[str, Any]:
        """The ``response`` object (``done=False``: as it is while in progress)."""
        usage = {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.input_tokens + self.output_tokens,
        }
        status = ("incomplete" if self.truncated else "completed") if done else "in_progress"
        return {
            "id": f"resp_fake_{self.number:06d}",
            "object": "response",
            "created_at": CREATED,
            "status": status,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"}
            if done and self.truncated
            else None,
            "instructions": request.get("instructions"),
            "max_output_tokens": request.get("max_output_tokens"),
            "model": self.model,
            "output": self._response_items() if done else [],
            "parallel_tool_calls": request.get("parallel_tool_calls", True),
            "previous_response_id": request.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None},
            "store": False,
            "temperature": request.get("temperature", 1.0),
            "text": {"format": {"type": "text"}},
            "tool_choice": request.get("tool_choice", "auto"),
            "tools": request.get("tools", []),
            "top_p": request.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": usage if done else None,
            "user": None,
            "metadata": {},
        }

    def response_events(self, request: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """The Responses API stream events, ``response.created`` to ``response.completed``."""
        started = self.response(request, done=False)
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": started},
            {"type": "response.in_progress", "response": started},
        ]
        for index, item in enumerate(self._response_items()):
            if item["type"] == "message":
                events.extend(self._message_events(index, item))
            else:
                events.extend(self._function_call_events(index, item))
        final = "response.incomplete" if self.truncated else "response.completed"
        events.append({"type": final, "response": self.response(request)})
        for number, event in enumerate(events):
            yield {**event, "sequence_number": number}

    def _message_events(self, index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
        part: dict[str, Any] = {
            "type": "output_text",
            "text": "",
            "annotations": [],
            "logprobs": [],
        }
        where = {"item_id": item["id"], "output_index": index, "content_index": 0}
        events: list[dict[str, Any]] = [
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {**item, "status": "in_progress", "content": []},
            },
            {"type": "response.content_part.added", **where, "part": part},
        ]
        for piece in self.pieces:
            events.append(
                {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
            )
        events += [
            {"type": "response.output_text.done", **where, "text": self.text, "logprobs": []},
            {"type": "response.content_part.done", **where, "part": item["content"][0]},
            {"type": "response.output_item.done", "output_index": index, "item": item},
        ]
        return events

    @staticmethod
    def _function_call_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
        where = {"item_id": item["id"], "output_index": index}
        arguments = item["arguments"]
        half = len(arguments) // 2
        events: list[dict[str, Any]] = [
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {**item, "status": "in_progress", "arguments": ""},
            }
        ]
        for part in (arguments[:half], arguments[half:]):
            if part:
                events.append(
                    {"type": "response.function_call_arguments.delta", **where, "delta": part}
                )
        events += [
            {
                "type": "response.function_call_arguments.done",
                **where,
                "name": item["name"],
                "arguments": arguments,
            },
            {"type": "response.output_item.done", "output_index": index, "item": item},
        ]
        return events


def embeddings(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The ``/v1/embeddings`` answer: one :func:`fake_embedding` per input."""
    raw = body.get("input")
    inputs: list[Any] = [raw] if isinstance(raw, str) else list(raw or [])
    if inputs and all(isinstance(i, int) for i in inputs):
        inputs = [inputs]  # one input given as token ids
    texts = [i if isinstance(i, str) else " ".join(map(str, i)) for i in inputs]
    dimensions = body.get("dimensions")
    size = dimensions if isinstance(dimensions, int) and dimensions > 0 else DEFAULT_DIMENSIONS
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        vector = fake_embedding(text, size)
        encoded: Any = (
            base64.b64encode(struct.pack(f"<{size}f", *vector)).decode() if as_base64 else vector
        )
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(max(1, count_tokens(t)) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
