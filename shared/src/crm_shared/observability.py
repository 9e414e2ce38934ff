"""One setup call for traces, metrics and logs, and the helpers that carry trace context in events.

Locally the exporter is off (or ``console``); with ``CRM_OTEL_EXPORTER=otlp`` spans and metrics go
to ``CRM_OTEL_ENDPOINT`` over OTLP/HTTP. The W3C ``traceparent`` of the command's span is stored in
each event's metadata, copied by the relay into the Kafka headers, and continued by consumers, so
one trace follows a command to every consumer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager

from opentelemetry import metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_shared.settings import KernelSettings

_configured = False
_exporting = False
"""Whether spans and metrics leave the process (an exporter is configured)."""
_TRACE_HEADERS = (b"traceparent", b"tracestate")
_ids = RandomIdGenerator()


class _TraceIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.trace_id = format(context.trace_id, "032x") if context.is_valid else "-"
        return True


def setup(service: str, settings: KernelSettings) -> None:
    """Configure tracing, metrics and logging once per process."""
    global _configured, _exporting
    if _configured:
        return
    _configured = True
    _exporting = settings.otel_exporter != "none"
    handler = logging.StreamHandler()
    handler.addFilter(_TraceIdFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [trace=%(trace_id)s] %(message)s"))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler])

    resource = Resource.create({"service.name": service})
    provider = TracerProvider(resource=resource)
    readers = []
    if settings.otel_exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        readers.append(PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=60_000))
    elif settings.otel_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        base = (settings.otel_endpoint or "http://127.0.0.1:4318").rstrip("/")
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces")))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{base}/v1/metrics")))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))


def current_traceparent() -> dict[str, str]:
    """The current trace context as W3C headers (empty when no span is active).

    Written as the W3C propagator writes them, without going through the global composite
    propagator (and the baggage it would add only to have it filtered out) on every command."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    headers = {"traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"}
    if context.trace_state:
        headers["tracestate"] = context.trace_state.to_header()
    return headers


def context_from(headers: Mapping[str, str]) -> Context:
    """The trace context carried by message headers or event metadata."""
    return propagate.extract(dict(headers))


def tracer() -> trace.Tracer:
    """The tracer of the kernel's instrumentation."""
    return trace.get_tracer("crm")


def span(
    name: str,
    *,
    context: Context | None = None,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    attributes: Mapping[str, int | str] | None = None,
) -> AbstractContextManager[trace.Span]:
    """A span of the kernel's instrumentation, current while the block runs: recorded when an
    exporter is configured; otherwise a non-recording one that continues ``context`` (or the
    current trace), which is all log lines and stored events need of it, at a fraction of the cost."""
    if _exporting:
        return tracer().start_as_current_span(name, context=context, kind=kind, attributes=attributes)
    parent = trace.get_current_span(context).get_span_context()
    return trace.use_span(NonRecordingSpan(_child_of(parent)))


def _child_of(parent: SpanContext | None) -> SpanContext:
    """The ids of a non-recording span: a child of ``parent`` when it is valid, else a new trace."""
    if parent is not None and parent.is_valid:
        return SpanContext(parent.trace_id, _ids.generate_span_id(), False, parent.trace_flags, parent.trace_state)
    return SpanContext(_ids.generate_trace_id(), _ids.generate_span_id(), False, TraceFlags(TraceFlags.SAMPLED))


def meter() -> metrics.Meter:
    """The meter of the kernel's instrumentation."""
    return metrics.get_meter("crm")


class TracingMiddleware:
    """A server span per HTTP request, continuing the caller's ``traceparent``, and a latency
    histogram per route; commands store the span's context in their events' metadata.

    When nothing is exported (``CRM_OTEL_EXPORTER=none``, the default) a recorded span and the
    histogram would be thrown away at a cost of about a tenth of a command's CPU: the request then
    runs in a non-recording span that continues the caller's trace (or starts one), which is all
    the events' ``traceparent`` and the log lines' trace id need.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Taken once: the proxy tracer follows the provider that setup() installs later.
        self._tracer = tracer()
        self._duration = meter().create_histogram(
            "crm.http.server.duration", unit="ms", description="HTTP request latency"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not _exporting:
            await self._untraced(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}
        status = 500
        started = time.perf_counter()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        name = f"{scope['method']} {scope['path']}"
        context = context_from(headers)
        with self._tracer.start_as_current_span(name, context=context, kind=trace.SpanKind.SERVER) as span:
            try:
                await self.app(scope, receive, capture)
            finally:
                route = getattr(scope.get("route"), "path", scope["path"])
                span.update_name(f"{scope['method']} {route}")
                span.set_attribute("http.response.status_code", status)
                self._duration.record(
                    (time.perf_counter() - started) * 1000,
                    {"http.request.method": scope["method"], "http.route": route, "http.response.status_code": status},
                )

    async def _untraced(self, scope: Scope, receive: Receive, send: Send) -> None:
        carrier = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or [] if k in _TRACE_HEADERS
        }
        parent = trace.get_current_span(context_from(carrier)).get_span_context() if carrier else None
        with trace.use_span(NonRecordingSpan(_child_of(parent))):
            await self.app(scope, receive, send)
