//! Carrying a trace across nodes: a transaction's record holds the W3C trace context
//! (`traceparent`) of its coordinator's span, and each node's step spans take it as their
//! parent, so one operation is one trace whatever nodes it touches. With no exporter set up
//! (`otlp-endpoint` unset), spans have no context and nothing is carried.

use std::collections::HashMap;

use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The `traceparent` of the current span, when traces are exported.
pub fn current() -> Option<String> {
    let cx = tracing::Span::current().context();
    let mut carrier: HashMap<String, String> = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
    carrier.remove("traceparent")
}

/// Makes `span` a child of the span `traceparent` names (from another node).
pub fn join(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(tp) = traceparent else {
        return;
    };
    let carrier: HashMap<String, String> = [("traceparent".to_owned(), tp.to_owned())].into();
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
    let _ = span.set_parent(cx);
}
