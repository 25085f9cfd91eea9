//! Answers kept per snapshot: a page or document depends only on its URL
//! (path and query) and the data, so the second request for a URL is a
//! copy of bytes, not a render. Bounded: at most [`BUDGET`] bytes per
//! snapshot (emptied when full), no entry over [`MAX_ENTRY`]; a new
//! snapshot (`--watch`) starts empty.

use super::routes::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::Mutex;

/// Bytes of answers kept per snapshot.
pub const BUDGET: usize = 64 << 20;
/// Largest answer kept.
pub const MAX_ENTRY: usize = 8 << 20;

/// One snapshot's answers by URL.
#[derive(Debug, Default)]
pub struct Cache {
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<String, (HeaderMap, Bytes)>,
    bytes: usize,
}

impl Cache {
    fn get(&self, key: &str) -> Option<(HeaderMap, Bytes)> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).map.get(key).cloned()
    }

    fn put(&self, key: String, headers: HeaderMap, body: Bytes) {
        if body.len() > MAX_ENTRY {
            return;
        }
        let mut e = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if e.bytes + body.len() > BUDGET {
            e.map.clear();
            e.bytes = 0;
        }
        e.bytes += body.len();
        if let Some((_, old)) = e.map.insert(key, (headers, body)) {
            e.bytes -= old.len();
        }
    }
}

fn respond(headers: HeaderMap, body: Bytes) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.headers_mut() = headers;
    r
}

/// The middleware: a GET answered before is answered from the cache; a
/// successful GET is kept.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let key = req.uri().path_and_query().map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let snap = state.snapshot();
    if let Some((headers, body)) = snap.cache.get(&key) {
        return respond(headers, body);
    }
    let resp = next.run(req).await;
    if resp.status() != StatusCode::OK {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            snap.cache.put(key, parts.headers.clone(), bytes.clone());
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(_) => Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body(Body::from("cannot read the answer\n"))
            .unwrap_or_default(),
    }
}
