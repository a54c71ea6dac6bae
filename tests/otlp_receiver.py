"""A small, real OTLP receiver for tests: gRPC and HTTP/protobuf, gzip aware.

Both servers listen on 127.0.0.1 on free ports. Every export request is
decoded with ``opentelemetry-proto`` and kept, so tests can check what
actually crossed the wire. Request headers are kept too (to check that auth
headers are sent, and nowhere else).
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

_REQUEST_TYPES: dict[str, Any] = {
    "traces": trace_service_pb2.ExportTraceServiceRequest,
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
    "logs": logs_service_pb2.ExportLogsServiceRequest,
}
_RESPONSE_TYPES: dict[str, Any] = {
    "traces": trace_service_pb2.ExportTraceServiceResponse,
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
    "logs": logs_service_pb2.ExportLogsServiceResponse,
}


@dataclass
class Received:
    """One decoded export request."""

    signal: str
    transport: str
    request: Any
    headers: dict[str, str]
    compressed: str | None = None


def any_value(value: AnyValue) -> Any:
    """The Python value of an OTLP ``AnyValue``."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def attrs(key_values: Any) -> dict[str, Any]:
    """OTLP attributes (repeated KeyValue) as a dict."""
    return {kv.key: any_value(kv.value) for kv in key_values if isinstance(kv, KeyValue)}


@dataclass
class OTLPReceiver:
    """Run gRPC and HTTP OTLP endpoints; collect what arrives."""

    received: list[Received] = field(default_factory=list)
    grpc_port: int = 0
    http_port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cond: threading.Condition = field(init=False)
    _grpc: Any = None
    _http: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        self._cond = threading.Condition(self._lock)

    # -- endpoints ------------------------------------------------------------

    @property
    def grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    # -- collection -----------------------------------------------------------

    def _add(self, item: Received) -> None:
        with self._cond:
            self.received.append(item)
            self._cond.notify_all()

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 10.0
    ) -> list[Received]:
        """Block until ``predicate(received)`` holds; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.received):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    summary = [(r.signal, r.transport) for r in self.received]
                    raise AssertionError(f"receiver timed out; got {summary}")
                self._cond.wait(remaining)
            return list(self.received)

    def of(self, signal: str, transport: str | None = None) -> list[Received]:
        with self._lock:
            return [
                r
                for r in self.received
                if r.signal == signal and (transport is None or r.transport == transport)
            ]

    def spans(self, transport: str | None = None) -> Iterator[tuple[dict[str, Any], Any]]:
        """(resource attributes, span) for every span received."""
        for r in self.of("traces", transport):
            for rs in r.request.resource_spans:
                resource = attrs(rs.resource.attributes)
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        yield resource, span

    def metrics(self, transport: str | None = None) -> Iterator[tuple[dict[str, Any], Any]]:
        for r in self.of("metrics", transport):
            for rm in r.request.resource_metrics:
                resource = attrs(rm.resource.attributes)
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        yield resource, metric

    def logs(self, transport: str | None = None) -> Iterator[tuple[dict[str, Any], Any]]:
        for r in self.of("logs", transport):
            for rl in r.request.resource_logs:
                resource = attrs(rl.resource.attributes)
                for sl in rl.scope_logs:
                    for record in sl.log_records:
                        yield resource, record

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> OTLPReceiver:
        receiver = self

        def servicer(signal: str, base: type) -> Any:
            class _Servicer(base):  # type: ignore[misc, valid-type]
                def Export(self, request: Any, context: Any) -> Any:
                    headers = dict(context.invocation_metadata())
                    receiver._add(
                        Received(signal, "grpc", request, headers, headers.get("grpc-encoding"))
                    )
                    return _RESPONSE_TYPES[signal]()

            return _Servicer()

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(
            servicer("traces", trace_service_pb2_grpc.TraceServiceServicer), server
        )
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
            servicer("metrics", metrics_service_pb2_grpc.MetricsServiceServicer), server
        )
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(
            servicer("logs", logs_service_pb2_grpc.LogsServiceServicer), server
        )
        self.grpc_port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._grpc = server

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                signal = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}.get(
                    self.path
                )
                if signal is None:
                    self.send_error(404)
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = self.headers.get("Content-Encoding")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                if self.headers.get("Content-Type") != "application/x-protobuf":
                    self.send_error(415)
                    return
                request = _REQUEST_TYPES[signal]()
                request.ParseFromString(body)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver._add(Received(signal, "http", request, headers, encoding))
                payload = _RESPONSE_TYPES[signal]().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http_port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._grpc is not None:
            self._grpc.stop(grace=None)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
