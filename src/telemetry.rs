//! Logs and metrics: a span per request (request id, method, route template) around
//! every line it logs, one access line per request, and Prometheus counters and
//! histograms by route template (never the raw path, which may carry tokens) and
//! status.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::db::Db;
use crate::error::ApiError;
use crate::state::AppState;

/// Header carrying the request id, taken from the client when sane, else generated.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Installs the global tracing subscriber (`RUST_LOG` filters, default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The service's Prometheus metrics, in a registry of its own.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
    write_queue: IntGauge,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "truckpass_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "truckpass_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "truckpass_db_pool_connections",
                "Database pool connections by pool and state",
            ),
            &["pool", "state"],
        )?;
        let write_queue = IntGauge::new(
            "truckpass_db_write_queue",
            "Writes waiting for the database writer threads",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        registry.register(Box::new(write_queue.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool,
            write_queue,
        })
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// The text exposition, with the pool state read now.
    pub fn render(&self, db: &Db) -> Result<String, ApiError> {
        for (pool, connections, idle) in db.pool_states() {
            self.pool
                .with_label_values(&[pool, "open"])
                .set(i64::from(connections));
            self.pool
                .with_label_values(&[pool, "idle"])
                .set(i64::from(idle));
        }
        self.write_queue
            .set(i64::try_from(db.write_queue()).unwrap_or(i64::MAX));
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .map_err(ApiError::internal)?;
        String::from_utf8(buffer).map_err(ApiError::internal)
    }
}

fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map_or_else(|| uuid::Uuid::now_v7().simple().to_string(), str::to_owned)
}

/// Middleware: request id, a span around the request, one access log line, metrics.
///
/// Every line logged while the request is handled (the handler's own, the cause
/// chain of a 5xx, the access line) is inside a `request` span carrying the request
/// id, the method and the route template, so a line can be matched to the client's
/// `X-Request-ID`. The route is the template (`/p/{token}`), never the raw path:
/// paths carry tokens.
pub async fn observe<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().to_string();
    // Matched against the route table before routing; the busiest routes come first.
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    // At error level so that it is kept whenever a 5xx line is (`RUST_LOG=warn` too).
    let span = tracing::error_span!("request", request_id = %id, method = %method, route = %route);
    async move {
        let outcome = next.call(req).await;
        // Our middlewares answer refusals with a response; an error is actix's own,
        // answered by the server after this middleware (without the request id).
        let status = match &outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        let seconds = started.elapsed().as_secs_f64();
        if let Some(state) = state {
            state
                .metrics
                .observe(&method, &route, status.as_u16(), seconds);
        }
        let latency_ms = seconds * 1000.0;
        if status.is_server_error() {
            tracing::error!(
                status = status.as_u16(),
                latency_ms = format_args!("{latency_ms:.2}"),
                "response"
            );
        } else {
            tracing::info!(
                status = status.as_u16(),
                latency_ms = format_args!("{latency_ms:.2}"),
                "response"
            );
        }
        let mut response = outcome?;
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        Ok(response)
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex, PoisonError};

    use actix_web::body::BoxBody;
    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, test};

    use super::*;

    /// Log output kept in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        fn text(&self) -> String {
            let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            bytes.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    async fn failing_handler() -> Result<HttpResponse, ApiError> {
        tracing::warn!("the handler's own line");
        Err(ApiError::internal(anyhow::anyhow!("the disk is full")))
    }

    async fn refusing_middleware(
        _req: ServiceRequest,
        _next: Next<BoxBody>,
    ) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
        Err(ApiError::internal(anyhow::anyhow!("refused before the handler")).into())
    }

    /// Sends `GET path` with request id `abc-123` through `observe` (and, with
    /// `refuse`, a middleware that fails every request with an error) to a handler
    /// that fails; returns the status (none for an error), the echoed request id and
    /// the lines logged.
    async fn logged_lines(refuse: bool, path: &str) -> (Option<u16>, Option<String>, Vec<String>) {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_target(false)
            .without_time()
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let app = App::new().route("/passes/{token}", web::get().to(failing_handler));
        let request = test::TestRequest::get()
            .uri(path)
            .insert_header((REQUEST_ID, "abc-123"))
            .to_request();
        let outcome = if refuse {
            let app = app
                .wrap(from_fn(refusing_middleware))
                .wrap(from_fn(observe));
            test::try_call_service(&test::init_service(app).await, request).await
        } else {
            let app = app.wrap(from_fn(observe));
            test::try_call_service(&test::init_service(app).await, request).await
        };
        // One entry per logged line; a backtrace in the cause chain (with
        // `RUST_BACKTRACE` set) continues a line on lines of its own.
        let levels = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"];
        let lines = captured
            .text()
            .lines()
            .filter(|line| {
                levels
                    .iter()
                    .any(|level| line.trim_start().starts_with(level))
            })
            .map(str::to_owned)
            .collect();
        let Ok(response) = outcome else {
            return (None, None, lines);
        };
        let echoed = response
            .headers()
            .get(REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        (Some(response.status().as_u16()), echoed, lines)
    }

    #[actix_web::test]
    async fn every_line_of_a_request_carries_its_id_and_route_template_and_a_5xx_is_an_error() {
        let (status, echoed, lines) = logged_lines(false, "/passes/secret-token-123").await;
        assert_eq!(status, Some(500));
        assert_eq!(echoed.as_deref(), Some("abc-123"));
        assert_eq!(
            lines.len(),
            3,
            "handler, cause chain, access line: {lines:#?}"
        );
        for line in &lines {
            assert!(
                line.contains("request{request_id=abc-123 method=GET route=/passes/{token}}:"),
                "{line}"
            );
            assert!(!line.contains("secret-token-123"), "{line}");
        }
        assert!(lines[0].contains("WARN") && lines[0].contains("the handler's own line"));
        assert!(lines[1].contains("ERROR") && lines[1].contains("the disk is full"));
        assert!(lines[2].contains("ERROR") && lines[2].contains("response status=500"));
    }

    #[actix_web::test]
    async fn an_error_from_inside_is_logged_and_passed_on() {
        let (status, _, lines) = logged_lines(true, "/passes/secret-token-123").await;
        assert_eq!(status, None, "the server answers it");
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(
            lines[0].contains("request{request_id=abc-123"),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("ERROR") && lines[0].contains("status=500"));
    }

    #[actix_web::test]
    async fn an_unknown_path_is_logged_as_unmatched_without_the_path() {
        let (status, _, lines) = logged_lines(false, "/secret-token-456").await;
        assert_eq!(status, Some(404));
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(lines[0].contains("route=unmatched}") && lines[0].contains(" INFO "));
        assert!(!lines[0].contains("secret-token-456"), "{}", lines[0]);
    }
}
