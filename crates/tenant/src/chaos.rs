//! Switchable faults: a layer in front of both listeners that, for the requests a [`Scope`]
//! picks, answers or alters what the handlers would have answered. The handlers stay as they
//! are; every fault is made here, from the request going in or the response coming out.
//!
//! Transport faults: 429 with and without `Retry-After`, 5xx, a connection dropped mid-body, a
//! response that never comes (the client's read timeout), a slow one, truncated JSON, a proxy's
//! HTML page with status 200, valid JSON of the wrong shape. Pagination lies, made by rewriting
//! the page: `isLast` missing, `total` changing between pages, `nextPage` or `_links.next`
//! pointing back to the first page, a next cursor handed out again, an empty page that says it
//! is not the last, and a page size parameter rewritten before the handler reads it (a page
//! larger, or smaller, than the client asked for).
//!
//! A [`Scope`] is a path prefix and a run of the matching requests, counted per rule: a burst
//! that ends is a transient fault, a run without end a permanent one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The faults a tenant injects; empty (the default) injects none.
#[derive(Clone, Debug, Default)]
pub struct Chaos {
    pub rules: Vec<Rule>,
}

impl Chaos {
    /// The same faults and `fault` on the requests `scope` picks.
    pub fn with(mut self, fault: Fault, scope: Scope) -> Self {
        self.rules.push(Rule { fault, scope });
        self
    }
}

/// One fault and where it applies.
#[derive(Clone, Debug)]
pub struct Rule {
    pub fault: Fault,
    pub scope: Scope,
}

/// Which requests a rule hits: those whose path starts with `path_prefix`, counted from 1 in
/// the order they arrive, from number `from` on, `count` of them (`None`: every one).
#[derive(Clone, Debug)]
pub struct Scope {
    pub path_prefix: String,
    pub from: u64,
    pub count: Option<u64>,
}

impl Scope {
    /// Every request under `path_prefix`: a permanent fault.
    pub fn always(path_prefix: &str) -> Self {
        Scope {
            path_prefix: path_prefix.to_string(),
            from: 1,
            count: None,
        }
    }

    /// `count` requests under `path_prefix` from the `from`th one on: a transient fault.
    pub fn burst(path_prefix: &str, from: u64, count: u64) -> Self {
        Scope {
            path_prefix: path_prefix.to_string(),
            from,
            count: Some(count),
        }
    }

    /// Every request under `path_prefix` from the `from`th one on.
    pub fn from(path_prefix: &str, from: u64) -> Self {
        Scope {
            path_prefix: path_prefix.to_string(),
            from,
            count: None,
        }
    }

    fn hits(&self, n: u64) -> bool {
        n >= self.from && self.count.is_none_or(|count| n - self.from < count)
    }
}

/// What a rule does to a request it hits.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// 429, with `Retry-After: n` or without any hint.
    RateLimit { retry_after_secs: Option<u64> },
    /// This status (500, 502, 503, 504) with a JSON error body.
    Status(u16),
    /// The status line, the headers and half the body, then the connection is dropped.
    ResetMidBody,
    /// No answer ever: the client's timeout has to end the request.
    Stall,
    /// The answer after this delay.
    Slow(Duration),
    /// Status 200 and the first half of the body.
    TruncatedJson,
    /// Status 200 and a proxy's HTML error page (`Content-Type: text/html`).
    HtmlPage,
    /// Valid JSON of the wrong shape: an array where an object was, every top-level array of an
    /// object replaced by a string.
    WrongShape,
    /// The page's end marker (`isLast`, `isLastPage`, `last`) removed.
    DropIsLast,
    /// `total` changed on every page: up on odd hits, halved on even ones.
    ShiftTotal,
    /// `nextPage` points at `startAt=0`, `_links.next` and `links.next` at the first page.
    NextPageBack,
    /// The first next cursor or link the rule saw, handed out again on every later page.
    RepeatCursor,
    /// The page's items removed, and its end marker (if any) saying more follows.
    EmptyNotLast,
    /// The page size parameter (`maxResults`, `limit`, `resultPerPage`, `pageSize`) set to this
    /// before the handler reads it.
    PageSize(u32),
}

/// The rules and their counters, shared by both listeners.
#[derive(Debug, Default)]
pub(super) struct Injector {
    rules: Vec<(Rule, AtomicU64, Mutex<Option<String>>)>,
}

impl Injector {
    pub(super) fn new(chaos: &Chaos) -> Arc<Injector> {
        let rules = chaos
            .rules
            .iter()
            .map(|rule| (rule.clone(), AtomicU64::new(0), Mutex::new(None)))
            .collect();
        Arc::new(Injector { rules })
    }
}

/// The middleware: counts the request against every rule whose prefix matches, then applies
/// the faults that are due, in the order the rules were given.
pub(super) async fn inject(
    State(injector): State<Arc<Injector>>,
    mut request: Request,
    next: Next,
) -> Response {
    if injector.rules.is_empty() {
        return next.run(request).await;
    }
    let path = request.uri().path().to_string();
    let due: Vec<(usize, u64)> = injector
        .rules
        .iter()
        .enumerate()
        .filter(|(_, (rule, _, _))| path.starts_with(&rule.scope.path_prefix))
        .filter_map(|(i, (rule, counter, _))| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            rule.scope.hits(n).then_some((i, n))
        })
        .collect();
    let mut rewrites = Vec::new();
    for &(i, n) in &due {
        let fault = &injector.rules[i].0.fault;
        match fault {
            Fault::RateLimit { retry_after_secs } => return rate_limited(*retry_after_secs),
            Fault::Status(status) => return error_status(*status),
            Fault::HtmlPage => return html_page(),
            Fault::Stall => std::future::pending::<()>().await,
            Fault::Slow(delay) => tokio::time::sleep(*delay).await,
            Fault::PageSize(size) => set_page_size(&mut request, *size),
            _ => rewrites.push((i, n)),
        }
    }
    let response = next.run(request).await;
    if rewrites.is_empty() || !response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut bytes = bytes.to_vec();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (i, n) in rewrites {
        let (rule, _, remembered) = &injector.rules[i];
        match &rule.fault {
            Fault::TruncatedJson => bytes.truncate(bytes.len() / 2),
            Fault::ResetMidBody => {
                let half = Bytes::from(bytes[..bytes.len() / 2].to_vec());
                let chunks: [Result<Bytes, std::io::Error>; 2] = [
                    Ok(half),
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "connection dropped mid-body",
                    )),
                ];
                let body = Body::from_stream(futures_util::stream::iter(chunks));
                return Response::from_parts(parts, body);
            }
            lie => {
                let Ok(mut json) = serde_json::from_slice::<Value>(&bytes) else {
                    continue;
                };
                rewrite(lie, n, &mut json, remembered);
                bytes = json.to_string().into_bytes();
            }
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Applies a JSON fault to a page; `remembered` is the rule's memory across pages.
fn rewrite(fault: &Fault, n: u64, json: &mut Value, remembered: &Mutex<Option<String>>) {
    if let (Fault::WrongShape, Value::Array(items)) = (fault, &*json) {
        *json = serde_json::json!({ "values": items });
        return;
    }
    let Some(page) = json.as_object_mut() else {
        return;
    };
    match fault {
        Fault::WrongShape => {
            for value in page.values_mut().filter(|v| v.is_array()) {
                *value = Value::from("wrong shape");
            }
        }
        Fault::DropIsLast => {
            for marker in ["isLast", "isLastPage", "last"] {
                page.remove(marker);
            }
        }
        Fault::ShiftTotal => {
            if let Some(total) = page.get("total").and_then(Value::as_u64) {
                let shifted = if n % 2 == 1 {
                    total + 10 * n
                } else {
                    total / 2
                };
                page.insert("total".into(), shifted.into());
            }
        }
        Fault::NextPageBack => {
            if let Some(next) = page.get("nextPage").and_then(Value::as_str) {
                let back = with_query(next, |k| k != "startAt", Some(("startAt", "0")));
                page.insert("nextPage".into(), back.into());
            }
            for links in ["_links", "links"] {
                let Some(next) = page.get_mut(links).and_then(|l| l.get_mut("next")) else {
                    continue;
                };
                if let Some(link) = next.as_str() {
                    *next = with_query(link, |k| k != "cursor" && k != "start", None).into();
                }
            }
        }
        Fault::RepeatCursor => {
            for links in ["_links", "links", "meta"] {
                let Some(next) = page.get_mut(links).and_then(|l| l.get_mut("next")) else {
                    continue;
                };
                let Some(link) = next.as_str().map(str::to_string) else {
                    continue;
                };
                let mut first = remembered
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                *next = Value::from(first.get_or_insert(link).clone());
            }
        }
        Fault::EmptyNotLast => {
            for items in ["values", "results", "data", "objectEntries"] {
                if let Some(list) = page.get_mut(items).and_then(Value::as_array_mut) {
                    list.clear();
                }
            }
            for marker in ["isLast", "isLastPage", "last"] {
                if page.contains_key(marker) {
                    page.insert(marker.into(), false.into());
                }
            }
            if let Some(size) = page.get_mut("size") {
                *size = 0.into();
            }
        }
        _ => {}
    }
}

/// `link` (absolute or relative) with the query pairs `keep` accepts, plus `add`.
fn with_query(link: &str, keep: impl Fn(&str) -> bool, add: Option<(&str, &str)>) -> String {
    let (path, query) = link.split_once('?').unwrap_or((link, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| keep(pair.split('=').next().unwrap_or_default()))
        .map(str::to_string)
        .collect();
    if let Some((k, v)) = add {
        pairs.push(format!("{k}={v}"));
    }
    if pairs.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", pairs.join("&"))
    }
}

/// Rewrites the request's page size parameters to `size`, as a server that does not honour
/// the size asked for would read them.
fn set_page_size(request: &mut Request, size: u32) {
    const SIZES: [&str; 4] = ["maxResults", "limit", "resultPerPage", "pageSize"];
    let Some(query) = request.uri().query() else {
        return;
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if SIZES.contains(&k) => format!("{k}={size}"),
            _ => pair.to_string(),
        })
        .collect();
    let path_and_query = format!("{}?{}", request.uri().path(), query.join("&"));
    let mut parts = request.uri().clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
}

fn rate_limited(retry_after_secs: Option<u64>) -> Response {
    let mut response = error_status(429);
    if let Some(secs) = retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Jira's `ErrorCollection` shape with `status`.
fn error_status(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({
        "errorMessages": [format!("Injected fault: {status}")],
        "errors": {},
    });
    (status, axum::Json(body)).into_response()
}

/// What a reverse proxy or a maintenance page answers, with a success status.
fn html_page() -> Response {
    let page = "<!DOCTYPE html><html><head><title>Service unavailable</title></head>\
                <body><h1>We'll be right back</h1><p>This site is under maintenance.</p>\
                </body></html>";
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scopes_pick_a_burst_or_every_request_from_one_on() {
        let burst = Scope::burst("/x", 2, 3);
        let hit: Vec<u64> = (1..=7).filter(|n| burst.hits(*n)).collect();
        assert_eq!(hit, [2, 3, 4]);
        assert!((1..100).all(|n| Scope::always("/x").hits(n)));
        assert!(!Scope::from("/x", 3).hits(2) && Scope::from("/x", 3).hits(300));
    }

    #[test]
    fn lies_rewrite_the_page() {
        let memory = Mutex::new(None);
        let mut page = json!({"startAt": 0, "total": 9, "isLast": false, "values": [1, 2],
            "nextPage": "http://h/rest/api/3/group/bulk?maxResults=2&startAt=2"});
        rewrite(&Fault::NextPageBack, 1, &mut page, &memory);
        assert_eq!(
            page["nextPage"],
            "http://h/rest/api/3/group/bulk?maxResults=2&startAt=0"
        );
        rewrite(&Fault::ShiftTotal, 1, &mut page, &memory);
        assert_eq!(page["total"], 19);
        rewrite(&Fault::EmptyNotLast, 1, &mut page, &memory);
        assert_eq!(page["values"], json!([]));
        assert_eq!(page["isLast"], false);
        rewrite(&Fault::DropIsLast, 1, &mut page, &memory);
        assert!(page.get("isLast").is_none());

        let mut first = json!({"data": [1], "links": {"next": "c1"}});
        let mut second = json!({"data": [2], "links": {"next": "c2"}});
        rewrite(&Fault::RepeatCursor, 1, &mut first, &memory);
        rewrite(&Fault::RepeatCursor, 2, &mut second, &memory);
        assert_eq!(second["links"]["next"], "c1");

        let mut array = json!([1, 2]);
        rewrite(&Fault::WrongShape, 1, &mut array, &memory);
        assert_eq!(array, json!({"values": [1, 2]}));
    }
}
