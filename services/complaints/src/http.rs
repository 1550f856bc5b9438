//! The public intake (RULES T2: the internet channel): a form at `/complaints/new` posting to
//! `/complaints`, and `POST /v1/complaints` with JSON. The answer is the receipt number (one per
//! record: a complaint with a report in it is two) and nothing else: no status, no echo of what
//! was sent. Served on the public port beside the publicity routes, under their per-client rate
//! limit (`SANXIANG_HTTP_RATE_*`). What was submitted is never logged.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sanxiang_domain::Error;
use sanxiang_domain::complaints::ComplaintType;
use sanxiang_domain::id::AgencyId;
use serde::Deserialize;
use serde_json::json;

use crate::Complaints;
use crate::command::{NewComplaint, NewReporter};

/// The routes of the public intake.
pub fn router(complaints: Complaints) -> Router {
    Router::new()
        .route("/complaints/new", get(form))
        .route("/complaints", post(submit_form))
        .route("/v1/complaints", post(submit_json))
        .with_state(complaints)
}

/// A submission as JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Submission {
    agency_id: String,
    /// One type, or both SAMR types for a complaint with a report in it.
    #[serde(default)]
    types: Vec<String>,
    content: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    anonymous: bool,
    #[serde(default)]
    secrecy_requested: bool,
}

impl Submission {
    fn command(self) -> Result<NewComplaint, Error> {
        let agency_id = AgencyId::parse("agency_id", self.agency_id.trim())?;
        Ok(NewComplaint {
            agency_id,
            types: self.types.iter().map(|t| ComplaintType::parse(t.trim())).collect(),
            channel: None,
            received_at: None,
            content: self.content,
            reporter: NewReporter {
                name: self.name,
                contact: self.contact,
                anonymous: self.anonymous,
                secrecy_requested: self.secrecy_requested,
            },
            case_id: None,
            officer_ids: Vec::new(),
            request: None,
        })
    }
}

/// The status of a refused submission; the message names the field (never the value).
fn refusal(e: &Error) -> StatusCode {
    match e {
        Error::InvalidArgument { .. } => StatusCode::BAD_REQUEST,
        Error::FailedPrecondition { .. } => StatusCode::CONFLICT,
        Error::NotFound { .. } => StatusCode::NOT_FOUND,
        Error::ResourceExhausted(_) => StatusCode::TOO_MANY_REQUESTS,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::PermissionDenied(_)
        | Error::Unauthenticated(_)
        | Error::AlreadyExists(_)
        | Error::DataLoss(_)
        | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn message(e: &Error, code: StatusCode) -> String {
    if code == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "public complaint intake failed");
        "the submission could not be recorded; try again later".to_owned()
    } else {
        e.to_string()
    }
}

fn json_response(code: StatusCode, body: serde_json::Value) -> Response {
    let mut r = (code, body.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn page(code: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}</title></head><body><main><h1>{}</h1>{body}</main></body></html>\n",
        escape(title),
        escape(title)
    );
    let mut r = (code, html).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// HTML text escaping.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

async fn submit_json(State(complaints): State<Complaints>, body: Bytes) -> Response {
    let submission: Submission = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            // serde names the field (or the position) only, never the value.
            let what = e.to_string().split(" at line").next().unwrap_or("not a submission").to_owned();
            return json_response(StatusCode::BAD_REQUEST, json!({ "error": format!("invalid body: {what}") }));
        }
    };
    let recorded = match submission.command() {
        Ok(command) => complaints.record(None, command).await,
        Err(e) => Err(e),
    };
    match recorded {
        Ok(views) => {
            let receipts: Vec<&str> = views.iter().map(|v| v.row.id.as_str()).collect();
            json_response(StatusCode::CREATED, json!({ "receipts": receipts }))
        }
        Err(e) => {
            let code = refusal(&e);
            json_response(code, json!({ "error": message(&e, code) }))
        }
    }
}

async fn submit_form(State(complaints): State<Complaints>, body: Bytes) -> Response {
    let mut s = Submission {
        agency_id: String::new(),
        types: Vec::new(),
        content: String::new(),
        name: String::new(),
        contact: String::new(),
        anonymous: false,
        secrecy_requested: false,
    };
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "agency_id" => s.agency_id = v.into_owned(),
            // "samr_complaint+samr_report": a complaint with a report in it.
            "type" => s.types.extend(v.split('+').map(str::to_owned)),
            "content" => s.content = v.into_owned(),
            "name" => s.name = v.into_owned(),
            "contact" => s.contact = v.into_owned(),
            "anonymous" => s.anonymous = !v.is_empty(),
            "secrecy_requested" => s.secrecy_requested = !v.is_empty(),
            _ => {}
        }
    }
    let recorded = match s.command() {
        Ok(command) => complaints.record(None, command).await,
        Err(e) => Err(e),
    };
    match recorded {
        Ok(views) => {
            let items: String = views.iter().map(|v| format!("<li><code>{}</code></li>", escape(&v.row.id))).collect();
            page(
                StatusCode::CREATED,
                "投诉举报已受理登记",
                &format!("<p>回执编号（receipt number）：</p><ul>{items}</ul><p>请保存回执编号。</p>"),
            )
        }
        Err(e) => {
            let code = refusal(&e);
            page(
                code,
                "提交未成功",
                &format!("<p>{}</p><p><a href=\"/complaints/new\">返回</a></p>", escape(&message(&e, code))),
            )
        }
    }
}

async fn form(State(complaints): State<Complaints>) -> Response {
    let agencies = match complaints.registry().agencies().await {
        Ok(a) => a,
        Err(e) => {
            let code = refusal(&e);
            return page(code, "投诉举报", &format!("<p>{}</p>", escape(&message(&e, code))));
        }
    };
    let options: String =
        agencies.iter().map(|a| format!("<option value=\"{}\">{}</option>", escape(&a.id), escape(&a.name))).collect();
    let body = format!(
        "<form method=\"post\" action=\"/complaints\">\
<p><label>受理机关 <select name=\"agency_id\" required>{options}</select></label></p>\
<p><label>类型 <select name=\"type\">\
<option value=\"conduct_complaint\">执法行为投诉</option>\
<option value=\"samr_complaint\">消费投诉</option>\
<option value=\"samr_report\">违法行为举报</option>\
<option value=\"samr_complaint+samr_report\">投诉并举报</option>\
</select></label></p>\
<p><label>内容 <textarea name=\"content\" required maxlength=\"{}\"></textarea></label></p>\
<p><label>姓名 <input name=\"name\" maxlength=\"{}\"></label></p>\
<p><label>联系方式 <input name=\"contact\" maxlength=\"{}\"></label></p>\
<p><label><input type=\"checkbox\" name=\"anonymous\" value=\"1\"> 匿名举报（仅限举报，不予告知处理结果）</label></p>\
<p><label><input type=\"checkbox\" name=\"secrecy_requested\" value=\"1\"> 请求为举报人保密</label></p>\
<p><button type=\"submit\">提交</button></p></form>",
        crate::MAX_CONTENT,
        crate::MAX_NAME,
        crate::MAX_CONTACT,
    );
    page(StatusCode::OK, "投诉举报", &body)
}
