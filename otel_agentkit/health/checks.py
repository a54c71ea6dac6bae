"""Built-in health checks: factories that return a check callable for a registry.

Each factory validates its arguments at once (a bad URL fails at startup, not
at the first probe) and returns a function that never raises: every failure
becomes a :class:`~otel_agentkit.health.CheckResult` with a detail that says
what is wrong and carries no secret. HTTP checks use the standard library
(``urllib``) and are sync, so the registry runs them in threads under its
timeout; their own socket ``timeout`` bounds how long the thread lives.
"""

from __future__ import annotations

import base64
import errno
import http.client
import inspect
import json
import os
import shutil
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Container, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from otel_agentkit._version import __version__
from otel_agentkit.errors import ConfigurationError
from otel_agentkit.health._core import CheckResult
from otel_agentkit.health._redact import redact_text, redact_url

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from otel_agentkit.telemetry import Telemetry

__all__ = [
    "chroma_check",
    "disk_check",
    "http_check",
    "memory_check",
    "ollama_check",
    "openai_compatible_check",
    "otlp_export_check",
    "prometheus_check",
    "qdrant_check",
    "tcp_check",
]

MiB: Final = 1 << 20
GiB: Final = 1 << 30
#: Responses larger than this are not read further (a model list is a few KiB).
MAX_BODY_BYTES: Final = 8 * MiB
_DEFAULT_OLLAMA: Final = "http://localhost:11434"
_LIST_SHOWN: Final = 5
_USER_AGENT: Final = f"otel-agentkit-health/{__version__}"

SyncCheck = Callable[[], CheckResult]
AsyncCheck = Callable[[], "Awaitable[CheckResult]"]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


class _ProbeError(Exception):
    """A probe failed; the message is the (unredacted) detail."""


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - loop always returns


def _http_url(setting: str, url: str) -> str:
    if not isinstance(url, str):
        raise ConfigurationError(setting, url, "must be an http:// or https:// URL string")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            setting, redact_url(url), "must be an http:// or https:// URL with a host"
        )
    return url


def _credentials(url: str) -> tuple[str, dict[str, str], list[str]]:
    """Move ``user:password@`` out of ``url`` into a Basic ``Authorization`` header
    (``urllib`` does not use URL credentials); also return the secrets to redact."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, {}, []
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    user, password = unquote(user), unquote(password)
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return clean, {"Authorization": f"Basic {token}"}, [password, token]


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


def _positive(setting: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(setting, value, "must be a number > 0")
    return float(value)


def _non_negative(setting: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(setting, value, "must be an integer number of bytes >= 0")
    return value


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        reason: object = exc.reason
        if isinstance(reason, BaseException):
            return _reason(reason)
        return str(reason)
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror or exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but never carry credentials or custom headers to another host."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urlsplit(newurl).netloc != urlsplit(req.full_url).netloc:
            for name in list(new.headers):
                if name not in ("Accept", "User-agent"):
                    new.remove_header(name)
        return new


_opener = urllib.request.build_opener(_RedirectHandler)


def _get(url: str, *, headers: Mapping[str, str], timeout: float) -> tuple[int, bytes]:
    """GET ``url``; ``(status, body)`` for any HTTP answer, :class:`_ProbeError` if none came."""
    sent = {"User-Agent": _USER_AGENT, **headers}
    request = urllib.request.Request(url, headers=sent, method="GET")  # noqa: S310
    shown = redact_url(url)
    try:
        with _opener.open(request, timeout=timeout) as response:
            return int(response.status), response.read(MAX_BODY_BYTES)
    except urllib.error.HTTPError as exc:
        with exc:
            body = exc.read(MAX_BODY_BYTES) if exc.fp is not None else b""
        return exc.code, body
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # HTTPException: something answered that does not speak HTTP.
        raise _ProbeError(f"{shown} unreachable: {_reason(exc)}") from None


def _get_json(url: str, *, headers: Mapping[str, str], timeout: float) -> Any:
    status, body = _get(url, headers=headers, timeout=timeout)
    shown = redact_url(url)
    if status in (401, 403):
        raise _ProbeError(f"{shown} answered HTTP {status} (check the API key)")
    if not 200 <= status < 300:
        raise _ProbeError(f"{shown} answered HTTP {status}")
    try:
        return json.loads(body)
    except ValueError:
        raise _ProbeError(f"{shown} answered HTTP {status} but not with JSON") from None


def _guard(fn: SyncCheck, secrets: Sequence[str | None] = ()) -> SyncCheck:
    """Turn probe failures (and anything unexpected) into redacted error results."""

    def check() -> CheckResult:
        try:
            result = fn()
        except _ProbeError as exc:
            return CheckResult.error(redact_text(str(exc), secrets))
        except Exception as exc:
            return CheckResult.error(redact_text(f"{type(exc).__name__}: {exc}", secrets))
        if secrets:
            return CheckResult(
                result.status, redact_text(result.detail, secrets), result.latency_ms, result.data
            )
        return result

    check.__name__ = check.__qualname__ = getattr(fn, "__name__", "check")
    return check


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_LIST_SHOWN])
    more = len(names) - _LIST_SHOWN
    if not names:
        return "none"
    return f"{shown} (+{more} more)" if more > 0 else shown


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---------------------------------------------------------------------------
# model servers
# ---------------------------------------------------------------------------


def _ollama_tagged(name: str) -> str:
    """Ollama's implicit tag: ``llama3`` means ``llama3:latest``."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def ollama_check(
    base_url: str | None = None, *, model: str | None = None, timeout: float = 5.0
) -> SyncCheck:
    """Ollama is reachable (``GET /api/tags``) and, if ``model`` is given, has it pulled.

    Args:
        base_url: the server, e.g. ``http://localhost:11434``; default
            ``$OLLAMA_HOST`` or ``http://localhost:11434``.
        model: a model that must be pulled; ``llama3`` matches ``llama3:latest``.
        timeout: socket timeout in seconds.

    ``ok`` with the number of models; ``error`` when unreachable, on a non-2xx
    answer, on a body that is not Ollama's model list, or when ``model`` is missing.
    """
    if base_url is None:
        host = os.environ.get("OLLAMA_HOST", "").strip() or _DEFAULT_OLLAMA
        base_url = host if "://" in host else f"http://{host}"
    url, auth, secrets = _credentials(_join(_http_url("base_url", base_url), "api/tags"))
    timeout = _positive("timeout", timeout)
    sent = {"Accept": "application/json", **auth}

    def ollama() -> CheckResult:
        body = _get_json(url, headers=sent, timeout=timeout)
        models = body.get("models") if isinstance(body, dict) else None
        if not isinstance(models, list):
            raise _ProbeError(f"{redact_url(url)} did not return an Ollama model list")
        names = sorted(
            {
                str(m.get("name") or m.get("model"))
                for m in models
                if isinstance(m, dict) and (m.get("name") or m.get("model"))
            }
        )
        data = {"models": names}
        if model is None:
            return CheckResult.ok(_plural(len(names), "model"), data=data)
        wanted = _ollama_tagged(model)
        if wanted in {_ollama_tagged(n) for n in names}:
            return CheckResult.ok(
                f"model {wanted} available ({_plural(len(names), 'model')})", data=data
            )
        return CheckResult.error(
            f"model {wanted} is not pulled; available: {_listing(names)}", data=data
        )

    return _guard(ollama, secrets)


def openai_compatible_check(
    base_url: str,
    *,
    api_key: str | None = None,
    model: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> SyncCheck:
    """An OpenAI-compatible server (NVIDIA NIM, vLLM, ...) lists its models (``GET /v1/models``).

    Args:
        base_url: what you give the OpenAI client, e.g. ``http://localhost:8000/v1``;
            a bare ``http://host:port`` gets ``/v1`` added.
        api_key: sent as ``Authorization: Bearer ...``; never shown in details.
        model: a model id that must be served.
        headers: extra request headers (their values are never shown either).
        timeout: socket timeout in seconds.
    """
    base = _http_url("base_url", base_url)
    if urlsplit(base).path.strip("/") == "":
        base = _join(base, "v1")
    url, auth, secrets = _credentials(_join(base, "models"))
    timeout = _positive("timeout", timeout)
    sent: dict[str, str] = {"Accept": "application/json", **auth, **(headers or {})}
    if api_key:
        sent["Authorization"] = f"Bearer {api_key}"
        secrets.append(api_key)
    secrets += (headers or {}).values()

    def openai_compatible() -> CheckResult:
        body = _get_json(url, headers=sent, timeout=timeout)
        items = body.get("data") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise _ProbeError(f"{redact_url(url)} did not return an OpenAI model list")
        ids = sorted({str(m["id"]) for m in items if isinstance(m, dict) and m.get("id")})
        data = {"models": ids}
        if model is None:
            return CheckResult.ok(_plural(len(ids), "model"), data=data)
        if model in ids:
            return CheckResult.ok(f"model {model} served ({_plural(len(ids), 'model')})", data=data)
        return CheckResult.error(
            f"model {model} is not served; available: {_listing(ids)}", data=data
        )

    return _guard(openai_compatible, secrets)


# ---------------------------------------------------------------------------
# generic network
# ---------------------------------------------------------------------------


def http_check(
    url: str,
    *,
    expected_status: Container[int] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> SyncCheck:
    """``GET url`` answers with an expected status (default any 2xx; redirects are followed).

    Header values are never shown in details; the URL is shown redacted.
    """
    url, auth, secrets = _credentials(_http_url("url", url))
    timeout = _positive("timeout", timeout)
    sent = {**auth, **(headers or {})}
    secrets += list(sent.values())

    def http() -> CheckResult:
        status, _ = _get(url, headers=sent, timeout=timeout)
        good = (200 <= status < 300) if expected_status is None else status in expected_status
        if good:
            return CheckResult.ok(f"HTTP {status}", data={"status_code": status})
        return CheckResult.error(
            f"{redact_url(url)} answered HTTP {status}", data={"status_code": status}
        )

    return _guard(http, secrets)


def tcp_check(host: str, port: int, *, timeout: float = 3.0) -> SyncCheck:
    """A TCP connection to ``host:port`` can be opened (then closed at once)."""
    if not isinstance(host, str) or not host:
        raise ConfigurationError("host", host, "must be a host name or address")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigurationError("port", port, "must be a TCP port number (1-65535)")
    timeout = _positive("timeout", timeout)
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def tcp() -> CheckResult:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                pass
        except OSError as exc:
            raise _ProbeError(f"{where} unreachable: {_reason(exc)}") from None
        return CheckResult.ok(f"connected to {where}")

    return _guard(tcp)


# ---------------------------------------------------------------------------
# process limits
# ---------------------------------------------------------------------------


def _read_meminfo(path: Path) -> int | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    fields: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            fields[key.strip()] = int(parts[0]) * (1024 if parts[1:2] == ["kB"] else 1)
    if "MemAvailable" in fields:
        return fields["MemAvailable"]
    if "MemFree" in fields:  # kernels before 3.14
        return fields["MemFree"] + fields.get("Buffers", 0) + fields.get("Cached", 0)
    return None


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _cgroup_available(root: Path) -> int | None:
    """Room left under this container's memory limit (cgroup v2, else v1), if limited."""
    limit = _read_int(root / "memory.max")
    usage = _read_int(root / "memory.current")
    if limit is None or usage is None:
        limit = _read_int(root / "memory" / "memory.limit_in_bytes")
        usage = _read_int(root / "memory" / "memory.usage_in_bytes")
        if limit is not None and limit >= 1 << 60:  # v1 spells "no limit" as a huge number
            limit = None
    if limit is None or usage is None:
        return None
    return max(0, limit - usage)


def _sysconf_available() -> int | None:
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * size if pages > 0 and size > 0 else None


def memory_check(
    min_available_bytes: int = 512 * MiB,
    *,
    meminfo_path: str | os.PathLike[str] = "/proc/meminfo",
    cgroup_path: str | os.PathLike[str] = "/sys/fs/cgroup",
) -> SyncCheck:
    """Available memory is at least ``min_available_bytes`` (default 512 MiB), else ``degraded``.

    Reads ``MemAvailable`` from ``/proc/meminfo`` and, inside a container with
    a cgroup memory limit, the room left under that limit (whichever is
    smaller). Where neither exists it falls back to ``sysconf``; if nothing
    can be measured it reports ``ok`` with a detail saying so, rather than
    failing readiness on a platform it cannot read.
    """
    threshold = _non_negative("min_available_bytes", min_available_bytes)
    meminfo = Path(meminfo_path)
    cgroup = Path(cgroup_path)

    def memory() -> CheckResult:
        candidates: list[tuple[int, str]] = []
        system = _read_meminfo(meminfo)
        if system is not None:
            candidates.append((system, "meminfo"))
        limited = _cgroup_available(cgroup)
        if limited is not None:
            candidates.append((limited, "cgroup"))
        if not candidates:
            fallback = _sysconf_available()
            if fallback is not None:
                candidates.append((fallback, "sysconf"))
        if not candidates:
            return CheckResult.ok("available memory unknown on this platform")
        available, source = min(candidates)
        data = {"available_bytes": available, "threshold_bytes": threshold, "source": source}
        text = f"{_fmt_bytes(available)} available"
        if source == "cgroup":
            text += " under the container memory limit"
        if available < threshold:
            return CheckResult.degraded(f"{text}, below {_fmt_bytes(threshold)}", data=data)
        return CheckResult.ok(text, data=data)

    return _guard(memory)


def disk_check(path: str | os.PathLike[str] = "/", min_free_bytes: int = GiB) -> SyncCheck:
    """Free disk space on the file system holding ``path`` is at least ``min_free_bytes``
    (default 1 GiB), else ``degraded``; ``error`` if the path does not exist."""
    threshold = _non_negative("min_free_bytes", min_free_bytes)
    target = os.fspath(path)

    def disk() -> CheckResult:
        try:
            usage = shutil.disk_usage(target)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                raise _ProbeError(f"{target} does not exist") from None
            raise _ProbeError(f"cannot stat {target}: {_reason(exc)}") from None
        data = {"free_bytes": usage.free, "total_bytes": usage.total, "threshold_bytes": threshold}
        text = f"{_fmt_bytes(usage.free)} free on {target}"
        if usage.free < threshold:
            return CheckResult.degraded(f"{text}, below {_fmt_bytes(threshold)}", data=data)
        return CheckResult.ok(text, data=data)

    return _guard(disk)


# ---------------------------------------------------------------------------
# our own telemetry
# ---------------------------------------------------------------------------


def _parse_exposition(text: str, where: str) -> CheckResult:
    from prometheus_client.parser import text_string_to_metric_families

    try:
        families = [f.name for f in text_string_to_metric_families(text)]
    except Exception as exc:
        raise _ProbeError(f"{where} is not valid Prometheus text: {exc}") from None
    count = len(families)
    noun = "metric family" if count == 1 else "metric families"
    return CheckResult.ok(f"{count} {noun}", data={"families": count})


def _local(url: str | None) -> str | None:
    """A server bound to every interface is scraped over loopback."""
    if url is None:
        return None
    parts = urlsplit(url)
    loopback = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(parts.hostname or "")
    if loopback is None:
        return url
    netloc = f"{loopback}:{parts.port}" if parts.port else loopback
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def prometheus_check(
    url: str | None = None, *, telemetry: Telemetry | None = None, timeout: float = 5.0
) -> SyncCheck:
    """Our Prometheus endpoint serves an exposition that parses.

    Scrapes ``url`` if given, else the standalone server that
    :func:`otel_agentkit.configure` started (``Telemetry.prometheus_url``);
    when the app serves ``/metrics`` itself (``prometheus_server=False``) it
    renders the exposition in-process, exactly what that route would return.
    ``error`` when nothing is configured, the scrape fails or the text does
    not parse.
    """
    if url is not None:
        _http_url("url", url)
    timeout = _positive("timeout", timeout)

    def prometheus() -> CheckResult:
        target = url
        if target is None:
            from otel_agentkit.telemetry import get_telemetry

            handle = telemetry if telemetry is not None else get_telemetry()
            if handle is None or not handle.prometheus_enabled:
                raise _ProbeError(
                    "the Prometheus exporter is not enabled (configure(metrics_exporter="
                    "'prometheus') or pass url=)"
                )
            target = _local(handle.prometheus_url)
            if target is None:
                body, _ = handle.render_metrics("text/plain")
                return _parse_exposition(body.decode("utf-8", "replace"), "the exposition")
        status, body = _get(target, headers={"Accept": "text/plain"}, timeout=timeout)
        if status != 200:
            raise _ProbeError(f"{redact_url(target)} answered HTTP {status}")
        return _parse_exposition(body.decode("utf-8", "replace"), redact_url(target))

    return _guard(prometheus)


def otlp_export_check(
    *, telemetry: Telemetry | None = None, failure_status: Literal["degraded", "error"] = "degraded"
) -> SyncCheck:
    """The OTLP exporters' latest exports succeeded.

    :func:`otel_agentkit.configure` wraps each OTLP exporter it creates so the
    outcome of every export is counted (``Telemetry.export_stats``). This check
    reports, per signal, whether the most recent exports failed: ``ok`` when the
    last export of every signal succeeded (or none happened yet),
    ``failure_status`` (default ``degraded``; ``error`` makes an unreachable
    collector fail readiness) when a signal's latest exports failed, with how
    many in a row. ``ok`` with a note when no OTLP exporter is configured.
    Exporters you pass yourself through ``span_processors=`` are not counted.
    """
    if failure_status not in ("degraded", "error"):
        raise ConfigurationError("failure_status", failure_status, "must be 'degraded' or 'error'")

    def otlp_export() -> CheckResult:
        from otel_agentkit.telemetry import get_telemetry

        handle = telemetry if telemetry is not None else get_telemetry()
        stats = getattr(handle, "export_stats", None)
        snapshot = stats.snapshot() if stats is not None else {}
        if not snapshot:
            return CheckResult.ok("no OTLP exporter configured")
        failing: list[str] = []
        notes: list[str] = []
        data: dict[str, Any] = {}
        for signal, s in snapshot.items():
            data[signal] = {
                "exports": s.exports,
                "failures": s.failures,
                "consecutive_failures": s.consecutive_failures,
            }
            if s.consecutive_failures:
                why = f" ({s.last_error})" if s.last_error else ""
                failing.append(
                    f"{signal}: last {_plural(s.consecutive_failures, 'export')} failed{why}"
                )
            elif s.exports == 0:
                notes.append(f"{signal}: no exports yet")
            else:
                notes.append(f"{signal}: {s.exports - s.failures}/{s.exports} exports ok")
        if failing:
            return CheckResult(failure_status, "; ".join(failing + notes), data=data)
        return CheckResult.ok("; ".join(notes), data=data)

    return _guard(otlp_export)


# ---------------------------------------------------------------------------
# vector stores
# ---------------------------------------------------------------------------


def _is_async(method: object) -> bool:
    return inspect.iscoroutinefunction(method)


def chroma_check(client: Any, *, collection: str | None = None) -> SyncCheck | AsyncCheck:
    """A Chroma client answers ``heartbeat()`` (and has ``collection``, if given).

    Works with ``chromadb`` sync clients (``EphemeralClient``, ``PersistentClient``,
    ``HttpClient``) and, as an async check, with ``AsyncHttpClient``.
    """
    if not callable(getattr(client, "heartbeat", None)):
        raise ConfigurationError("client", type(client).__name__, "is not a Chroma client")

    def summarize(beat: object, count: object) -> CheckResult:
        data: dict[str, Any] = {"heartbeat": beat}
        detail = "heartbeat ok"
        if isinstance(count, int):
            data["collections"] = count
            detail += f", {_plural(count, 'collection')}"
        return CheckResult.ok(detail, data=data)

    def missing(exc: Exception) -> _ProbeError:
        return _ProbeError(f"collection {collection!r} not found ({type(exc).__name__})")

    if _is_async(client.heartbeat):

        async def chroma_async() -> CheckResult:
            try:
                beat = await client.heartbeat()
                if collection is not None:
                    try:
                        await client.get_collection(collection)
                    except Exception as exc:
                        raise missing(exc) from None
                count = await client.count_collections()
                return summarize(beat, count)
            except _ProbeError as exc:
                return CheckResult.error(redact_text(str(exc)))
            except Exception as exc:
                return CheckResult.error(redact_text(f"{type(exc).__name__}: {exc}"))

        return chroma_async

    def chroma() -> CheckResult:
        beat = client.heartbeat()
        if collection is not None:
            try:
                client.get_collection(collection)
            except Exception as exc:
                raise missing(exc) from None
        counter = getattr(client, "count_collections", None)
        return summarize(beat, counter() if callable(counter) else None)

    return _guard(chroma)


def qdrant_check(client: Any, *, collection: str | None = None) -> SyncCheck | AsyncCheck:
    """A Qdrant client answers ``get_collections()`` (and has ``collection``, if given).

    Works with ``QdrantClient`` and, as an async check, ``AsyncQdrantClient``.
    """
    if not callable(getattr(client, "get_collections", None)):
        raise ConfigurationError("client", type(client).__name__, "is not a Qdrant client")

    def summarize(response: Any) -> CheckResult:
        names = sorted(str(c.name) for c in getattr(response, "collections", []))
        data = {"collections": names}
        if collection is not None and collection not in names:
            return CheckResult.error(
                f"collection {collection!r} not found; available: {_listing(names)}", data=data
            )
        return CheckResult.ok(_plural(len(names), "collection"), data=data)

    if _is_async(client.get_collections):

        async def qdrant_async() -> CheckResult:
            try:
                return summarize(await client.get_collections())
            except Exception as exc:
                return CheckResult.error(redact_text(f"{type(exc).__name__}: {exc}"))

        return qdrant_async

    def qdrant() -> CheckResult:
        return summarize(client.get_collections())

    return _guard(qdrant)
