//! What operators see, on the real binary: Prometheus metrics on the admin listener scraped and
//! parsed after a few requests, liveness and readiness, one access-log line per request without
//! the token, the start-up line, OTLP traces received by a collector in the test, and gRPC
//! reflection over both protocol versions as stock clients speak them.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use sanxiang_proto::v1 as pb;
use sanxiang_tests::process::{Process, sigterm_and_wait, spawn as spawn_with};

const BIN: &str = env!("CARGO_BIN_EXE_sanxiang-under-test");

async fn spawn(dir: &Path, env: &[(&str, &str)]) -> Process {
    spawn_with(BIN, dir, &["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"], env).await
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    (r.status().as_u16(), r.text().await.unwrap())
}

fn token(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("sanxiang-data/admin-token")).unwrap().trim().to_owned()
}

async fn channel(p: &Process) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(format!("http://{}", p.addr)).unwrap().connect().await.unwrap()
}

/// The value of the sample of `name` whose labels include `labels`.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape.samples.iter().find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))).map(
        |s| match &s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => *v,
            prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
            prometheus_parse::Value::Summary(_) => f64::NAN,
        },
    )
}

#[tokio::test]
async fn metrics_probes_access_log_and_start_up_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = spawn(dir.path(), &[]).await;
    let admin = format!("http://{}", p.admin_addr);
    assert_eq!(get(&format!("{admin}/livez")).await.0, 200);
    assert_eq!(get(&format!("{admin}/readyz")).await, (200, "ready\n".to_owned()));

    let token = token(dir.path());
    let channel = channel(&p).await;
    let client = sanxiang_tests::Client::new(channel.clone(), Some(&token));
    let mut me = None;
    for _ in 0..3 {
        me = Some(
            client
                .registry
                .clone()
                .who_am_i(pb::WhoAmIRequest {})
                .await
                .unwrap()
                .into_inner()
                .principal
                .expect("the answer carries the principal"),
        );
    }
    let me = me.unwrap();
    let anonymous = sanxiang_tests::Client::new(channel, None);
    let refused = anonymous.registry.clone().who_am_i(pb::WhoAmIRequest {}).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let public = format!("http://{}", p.http_addr);
    assert_eq!(get(&format!("{public}/v1/disclosures")).await.0, 200);
    assert_eq!(get(&format!("{public}/no/such/page")).await.0, 404);

    let (status, text) = get(&format!("{admin}/metrics")).await;
    assert_eq!(status, 200);
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let who = [("service", "sanxiang.v1.RegistryService"), ("method", "WhoAmI")];
    assert_eq!(sample(&scrape, "sanxiang_grpc_requests_total", &[who[0], who[1], ("code", "OK")]), Some(3.0), "{text}");
    assert_eq!(
        sample(&scrape, "sanxiang_grpc_requests_total", &[who[0], who[1], ("code", "UNAUTHENTICATED")]),
        Some(1.0),
        "{text}"
    );
    // The histogram counted every call (its +Inf bucket).
    assert_eq!(sample(&scrape, "sanxiang_grpc_request_duration_seconds", &who), Some(4.0), "{text}");
    assert_eq!(
        sample(&scrape, "sanxiang_http_requests_total", &[("route", "/v1/disclosures"), ("status", "200")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&scrape, "sanxiang_http_requests_total", &[("route", "unmatched"), ("status", "404")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&scrape, "sanxiang_http_request_duration_seconds", &[("route", "/v1/disclosures")]), Some(1.0));
    assert_eq!(sample(&scrape, "sanxiang_db_pool_max_connections", &[]), Some(16.0), "{text}");
    assert!(sample(&scrape, "sanxiang_db_pool_connections", &[("state", "idle")]).is_some_and(|v| v >= 0.0));
    assert_eq!(sample(&scrape, "sanxiang_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), Some(1.0));

    let log = sigterm_and_wait(p).await;
    let all = log.join("\n");
    assert!(!all.contains(&token), "the token never reaches the log");
    let access: Vec<&String> = log.iter().filter(|l| l.contains("grpc request")).collect();
    assert_eq!(access.iter().filter(|l| l.contains("rpc=sanxiang.v1.RegistryService/WhoAmI")).count(), 4, "{all}");
    assert!(
        access.iter().any(|l| l.contains("code=OK") && l.contains(&format!("principal={}", me.id))),
        "an answered call names its principal: {all}"
    );
    assert!(
        access.iter().any(|l| l.contains("code=UNAUTHENTICATED") && l.contains("principal=-")),
        "a refused call is logged too: {all}"
    );
    assert!(access.iter().all(|l| l.contains("latency_ms=") && l.contains("request_id=")), "{all}");
    assert!(log.iter().any(|l| l.contains("http request") && l.contains("status=404")), "{all}");
    let start = log.iter().find(|l| l.contains("sanxiang starting")).expect("a start-up line");
    let data_dir = std::fs::canonicalize(dir.path().join("sanxiang-data")).unwrap();
    assert!(start.contains(&format!("data_dir={}", data_dir.display())), "absolute data directory: {start}");
    assert!(start.contains(concat!("version=", env!("CARGO_PKG_VERSION"))), "{start}");
    assert!(start.contains("database=sqlite"), "{start}");
    assert!(start.contains(&format!("object_store=local {}", data_dir.join("objects").display())), "{start}");
}

#[tokio::test]
async fn the_admin_listener_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let p = spawn(dir.path(), &[("SANXIANG_ADMIN_LISTEN", "off")]).await;
    assert_eq!(p.admin_addr, "off");
    sigterm_and_wait(p).await;
}

/// A minimal OTLP/HTTP collector: every request body posted to `/v1/traces`, decoded.
async fn collector() -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest>,
) {
    use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
    use prost::Message;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf export");
                let _ = tx.send(request);
                (
                    [(http::header::CONTENT_TYPE, "application/x-protobuf")],
                    ExportTraceServiceResponse::default().encode_to_vec(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, rx)
}

fn attributes(span: &opentelemetry_proto::tonic::trace::v1::Span) -> HashMap<String, String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    span.attributes
        .iter()
        .filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some((kv.key.clone(), s.clone())),
            Value::IntValue(i) => Some((kv.key.clone(), i.to_string())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn traces_reach_an_otlp_collector_with_request_id_and_principal() {
    let (collector, mut received) = collector().await;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{collector}");
    // The SDK's batch delay (5 s by default) shortened so the test does not wait for it.
    let p = spawn(dir.path(), &[("SANXIANG_OTLP_ENDPOINT", &endpoint), ("OTEL_BSP_SCHEDULE_DELAY", "100")]).await;
    let token = token(dir.path());
    let client = sanxiang_tests::Client::new(channel(&p).await, Some(&token));
    let mut request = tonic::Request::new(pb::WhoAmIRequest {});
    request.metadata_mut().insert("x-request-id", "trace-test-7".parse().unwrap());
    let me = client
        .registry
        .clone()
        .who_am_i(request)
        .await
        .unwrap()
        .into_inner()
        .principal
        .expect("the answer carries the principal");

    let span = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let export = received.recv().await.expect("the collector runs");
            let found = export
                .resource_spans
                .into_iter()
                .flat_map(|r| r.scope_spans)
                .flat_map(|s| s.spans)
                .find(|s| s.name == "sanxiang.v1.RegistryService/WhoAmI");
            if let Some(span) = found {
                break span;
            }
        }
    })
    .await
    .expect("the request's span is exported within 30 s");
    let attrs = attributes(&span);
    assert_eq!(attrs.get("request_id").map(String::as_str), Some("trace-test-7"), "{attrs:?}");
    assert_eq!(attrs.get("principal"), Some(&me.id), "{attrs:?}");
    assert_eq!(attrs.get("rpc.grpc.status_code").map(String::as_str), Some("OK"), "{attrs:?}");
    assert_eq!(span.kind, opentelemetry_proto::tonic::trace::v1::span::SpanKind::Server as i32);
    sigterm_and_wait(p).await;
}

#[tokio::test]
async fn reflection_lists_services_over_v1alpha_as_stock_clients_ask() {
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1alpha::{ServerReflectionRequest, ServerReflectionResponse};
    let dir = tempfile::tempdir().unwrap();
    let p = spawn(dir.path(), &[]).await;
    let mut reflection = ServerReflectionClient::new(channel(&p).await);
    let ask = |m: MessageRequest| ServerReflectionRequest { host: String::new(), message_request: Some(m) };
    let requests = [
        ask(MessageRequest::ListServices(String::new())),
        ask(MessageRequest::FileContainingSymbol("sanxiang.v1.RecordService".into())),
    ];
    let mut replies = reflection.server_reflection_info(futures::stream::iter(requests)).await.unwrap().into_inner();
    let ServerReflectionResponse { message_response: Some(MessageResponse::ListServicesResponse(list)), .. } =
        replies.message().await.unwrap().unwrap()
    else {
        panic!("a list of services");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "sanxiang.v1.RegistryService",
        "sanxiang.v1.RecordService",
        "sanxiang.v1.ReviewService",
        "sanxiang.v1.PublicityService",
        "sanxiang.v1.FilingService",
        "grpc.health.v1.Health",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
    // `describe`: the file declaring a service comes back as descriptors.
    let ServerReflectionResponse { message_response: Some(MessageResponse::FileDescriptorResponse(files)), .. } =
        replies.message().await.unwrap().unwrap()
    else {
        panic!("the file of sanxiang.v1.RecordService");
    };
    let files: Vec<prost_types::FileDescriptorProto> =
        files.file_descriptor_proto.iter().map(|b| prost::Message::decode(b.as_slice()).unwrap()).collect();
    assert!(
        files.iter().any(|f| f
            .service
            .iter()
            .any(|s| s.name() == "RecordService" && s.method.iter().any(|m| m.name() == "AppendEvent"))),
        "RecordService.AppendEvent described"
    );
    sigterm_and_wait(p).await;
}

/// The Python interpreter with grpcio, grpcio-reflection and protobuf: `SANXIANG_TEST_PYTHON`
/// (CI installs them into a virtual environment of its cache) or `python3`.
fn python_with_grpc() -> Option<String> {
    let python = std::env::var("SANXIANG_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", "import grpc, grpc_reflection, google.protobuf"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

/// A stock client, not tonic: Python's grpcio-reflection (reflection v1alpha, as grpcurl before
/// 1.9 speaks it) lists the services, describes one, and calls `WhoAmI` with a request built
/// from the reflected descriptors only (`tests/stock/reflection_client.py`).
#[tokio::test]
async fn a_stock_python_client_lists_describes_and_calls_over_reflection_v1alpha() {
    let Some(python) = python_with_grpc() else {
        assert!(
            !sanxiang_tests::in_ci(),
            "CI=true: Python with grpcio and grpcio-reflection must be installed (.ci/run)"
        );
        eprintln!(
            "SKIPPED: no Python with grpcio, grpcio-reflection and protobuf (pip install grpcio grpcio-reflection \
             protobuf, or set SANXIANG_TEST_PYTHON)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = spawn(dir.path(), &[]).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("stock/reflection_client.py");
    let out =
        tokio::process::Command::new(&python).arg(&script).arg(&p.addr).arg(token(dir.path())).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the stock client failed: {stderr}");
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // list
    let services: Vec<&str> = got["services"].as_array().unwrap().iter().filter_map(|s| s.as_str()).collect();
    for expected in [
        "sanxiang.v1.RegistryService",
        "sanxiang.v1.RecordService",
        "sanxiang.v1.ReviewService",
        "sanxiang.v1.PublicityService",
        "sanxiang.v1.LogService",
        "sanxiang.v1.FilingService",
        "grpc.health.v1.Health",
    ] {
        assert!(services.contains(&expected), "{expected} missing from {services:?}");
    }
    // describe: every method has its own request and response (buf lint's STANDARD rules).
    let methods = got["registry_methods"].as_object().unwrap();
    assert_eq!(
        methods["WhoAmI"],
        serde_json::json!(["sanxiang.v1.WhoAmIRequest", "sanxiang.v1.WhoAmIResponse"]),
        "{methods:?}"
    );
    assert_eq!(
        methods["CreateAgency"],
        serde_json::json!(["sanxiang.v1.CreateAgencyRequest", "sanxiang.v1.CreateAgencyResponse"])
    );
    // a call: the administrator the token belongs to, inside the response's `principal`.
    let principal = &got["who_am_i"]["principal"];
    assert_eq!(principal["role"], "ROLE_ADMIN", "{got}");
    assert!(principal["id"].as_str().is_some_and(|id| !id.is_empty()), "{got}");
    // and a refusal as a stock client shows it.
    assert_eq!(got["refused"]["code"], "UNAUTHENTICATED", "{got}");
    sigterm_and_wait(p).await;
}
