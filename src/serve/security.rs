//! Safe by default: which `Host` a request may name (DNS rebinding), which
//! methods and how long a URL may be, and the headers every response
//! carries. One middleware applies all of it before routing, so an error
//! answer (404, 405, 414, 421) has the same headers as a page.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Longest path accepted (bytes, percent-encoded as sent).
pub const MAX_PATH: usize = 512;
/// Longest query string accepted (bytes, percent-encoded as sent).
pub const MAX_QUERY: usize = 2048;

/// The `Host` values a request may carry.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    allowed: Vec<String>,
    /// Bound to every address with --allow-remote: any IP literal is fine
    /// (a literal names no DNS record an attacker could rebind).
    any_ip_literal: bool,
}

impl HostPolicy {
    /// Loopback names for the bound port; with `allow_remote`, the bound
    /// address as well.
    pub fn new(bound: SocketAddr, allow_remote: bool) -> HostPolicy {
        let port = bound.port();
        let mut names: Vec<String> = vec!["127.0.0.1".into(), "localhost".into(), "[::1]".into()];
        if allow_remote && !bound.ip().is_unspecified() {
            names.push(match bound.ip() {
                IpAddr::V4(a) => a.to_string(),
                IpAddr::V6(a) => format!("[{a}]"),
            });
        }
        let mut allowed: Vec<String> = names.iter().map(|n| format!("{n}:{port}")).collect();
        if port == 80 {
            allowed.extend(names);
        }
        HostPolicy { allowed, any_ip_literal: allow_remote && bound.ip().is_unspecified() }
    }

    /// Whether a request naming `host` is for this server.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        if self.allowed.contains(&host) {
            return true;
        }
        self.any_ip_literal && host_ip(&host).is_some()
    }
}

/// The IP literal of a `Host` value (`1.2.3.4[:port]`, `[::1][:port]`).
fn host_ip(host: &str) -> Option<IpAddr> {
    if let Some(rest) = host.strip_prefix('[') {
        let (ip, tail) = rest.split_once(']')?;
        if !(tail.is_empty() || tail.strip_prefix(':').is_some_and(|p| p.parse::<u16>().is_ok())) {
            return None;
        }
        return ip.parse().ok();
    }
    let ip = match host.rsplit_once(':') {
        Some((ip, port)) if port.parse::<u16>().is_ok() => ip,
        _ => host,
    };
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// Headers on every response. `default-src 'self'`: no inline script or
/// style, nothing from another origin.
pub fn add_headers(h: &mut HeaderMap) {
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'self'"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

/// A plain-text refusal (pages for people come from the router).
fn refuse(status: StatusCode, message: String) -> Response {
    let mut r = (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message + "\n").into_response();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    r
}

/// Why a request is refused before routing, if it is.
fn precheck(policy: &HostPolicy, req: &Request) -> Option<Response> {
    let uri = req.uri();
    if uri.path().len() > MAX_PATH {
        return Some(refuse(StatusCode::URI_TOO_LONG, format!("the path is longer than {MAX_PATH} bytes")));
    }
    if uri.query().is_some_and(|q| q.len() > MAX_QUERY) {
        return Some(refuse(StatusCode::URI_TOO_LONG, format!("the query is longer than {MAX_QUERY} bytes")));
    }
    let host =
        req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).or_else(|| uri.authority().map(|a| a.as_str()));
    match host {
        Some(h) if policy.allows(h) => {}
        Some(h) => {
            return Some(refuse(
                StatusCode::MISDIRECTED_REQUEST,
                format!("this server answers requests for {}, not for '{h}'", policy.allowed.join(", ")),
            ))
        }
        None => return Some(refuse(StatusCode::MISDIRECTED_REQUEST, "the request names no Host".into())),
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Some(refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {} is not allowed: the portal is read-only (GET, HEAD)", req.method()),
        ));
    }
    None
}

/// The middleware: refuse what [`precheck`] refuses, then add the headers.
pub async fn guard(State(policy): State<Arc<HostPolicy>>, req: Request, next: Next) -> Response {
    let mut resp = match precheck(&policy, &req) {
        Some(r) => r,
        None => next.run(req).await,
    };
    add_headers(resp.headers_mut());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_only_by_default() {
        let p = HostPolicy::new("127.0.0.1:8080".parse().unwrap(), false);
        for ok in ["127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080", "[::1]:8080"] {
            assert!(p.allows(ok), "{ok}");
        }
        for bad in ["evil.example", "evil.example:8080", "localhost:8081", "localhost", "10.0.0.1:8080"] {
            assert!(!p.allows(bad), "{bad}");
        }
    }

    #[test]
    fn remote_adds_the_bound_address_or_ip_literals() {
        let p = HostPolicy::new("192.168.1.5:9000".parse().unwrap(), true);
        assert!(p.allows("192.168.1.5:9000") && !p.allows("evil.example:9000"));
        let any = HostPolicy::new("0.0.0.0:9000".parse().unwrap(), true);
        assert!(any.allows("10.1.2.3:9000") && any.allows("[fe80::1]:9000") && !any.allows("evil.example:9000"));
    }
}
