//! The one tracing initialiser: logs to stderr, and traces over OTLP when a collector is
//! configured.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The installed telemetry; [`Telemetry::shutdown`] sends the traces not yet exported.
#[derive(Debug, Default)]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what is buffered and stops the exporter (at the end of `serve`).
    pub fn shutdown(self) {
        if let Some(provider) = self.traces
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "could not send the last traces to the OTLP collector");
        }
    }
}

/// The OTLP/HTTP traces URL of a collector endpoint: `/v1/traces` appended unless given.
fn traces_url(endpoint: &str) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    if endpoint.ends_with("/v1/traces") { endpoint.to_owned() } else { format!("{endpoint}/v1/traces") }
}

/// Installs the global subscriber, writing to stderr. `filter` follows `RUST_LOG` syntax. With
/// `otlp_endpoint`, spans (each request's, with its request id and principal) are also sent to
/// that OpenTelemetry collector over OTLP/HTTP, in batches from a thread of the SDK's own.
pub fn init(format: LogFormat, filter: &str, otlp_endpoint: Option<&str>) -> Result<Telemetry, String> {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let traces = match otlp_endpoint {
        None => None,
        Some(endpoint) => {
            let url = traces_url(endpoint);
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(url.clone())
                .build()
                .map_err(|e| format!("cannot send traces to {url} (--otlp-endpoint): {e}"))?;
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name("sanxiang")
                .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                .build();
            Some(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
        }
    };
    let otel = traces.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("sanxiang")));
    let registry = tracing_subscriber::registry().with(otel).with(filter);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    let _ = match format {
        LogFormat::Pretty => registry.with(fmt.compact()).try_init(),
        LogFormat::Json => registry.with(fmt.json()).try_init(),
    };
    Ok(Telemetry { traces })
}

#[cfg(test)]
mod tests {
    use super::traces_url;

    #[test]
    fn the_traces_path_is_appended_once() {
        assert_eq!(traces_url("http://collector:4318"), "http://collector:4318/v1/traces");
        assert_eq!(traces_url("http://collector:4318/"), "http://collector:4318/v1/traces");
        assert_eq!(traces_url("http://collector:4318/v1/traces"), "http://collector:4318/v1/traces");
    }
}
