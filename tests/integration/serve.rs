//! `evidex serve`: every route through the library router (in process,
//! `tower::ServiceExt::oneshot`), the API against the real binary's output
//! byte for byte, the security rules, and the real server on a socket
//! (start-up line, shutdown deadline, `--watch`).

use crate::util::{data, repo, run};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use evidex::ingest::{self, Contract, IngestOptions};
use evidex::report::site::{Provenance, Site};
use evidex::score::ScoringConfig;
use evidex::serve::{router, HostPolicy, State};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tower::ServiceExt;

const VAC: &str = "datasets/evidence_vac.csv";

/// The state `evidex serve datasets/evidence_vac.csv` starts with (paths as
/// the CLI tests give them, from the repository root).
fn app() -> axum::Router {
    static STATE: OnceLock<Arc<State>> = OnceLock::new();
    let state = STATE.get_or_init(|| {
        let opts = IngestOptions { contract: Contract::Scoring, ..IngestOptions::default() };
        let ing = ingest::ingest(&[VAC.into()], &opts).expect("read the dataset");
        Arc::new(State::new(Site::build(
            ing,
            ScoringConfig::default(),
            Provenance { loaded_at: None, reload_error: None },
        )))
    });
    router(state.clone(), HostPolicy::new("127.0.0.1:8080".parse().unwrap(), false))
}

struct Got {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

fn request(method: &str, uri: &str, host: Option<&str>) -> Got {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(h) = host {
            b = b.header("host", h);
        }
        let resp = app().oneshot(b.body(Body::empty()).unwrap()).await.unwrap();
        let (parts, body) = resp.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap().to_vec();
        Got { status: parts.status, headers: parts.headers, body }
    })
}

fn get(uri: &str) -> Got {
    request("GET", uri, Some("127.0.0.1:8080"))
}

#[track_caller]
fn expect(uri: &str, status: StatusCode, content_type: &str) -> Got {
    let g = get(uri);
    assert_eq!(g.status, status, "{uri}: {}", g.text());
    assert!(g.header("content-type").starts_with(content_type), "{uri}: content type {}", g.header("content-type"));
    assert_secure(&g, uri);
    g
}

#[track_caller]
fn assert_secure(g: &Got, what: &str) {
    assert_eq!(g.header("content-security-policy"), "default-src 'self'", "{what}");
    assert_eq!(g.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(g.header("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(g.header("x-frame-options"), "DENY", "{what}");
}

/// Slugs of the interventions ranked for adolescent girls in LIC.
fn ranked_slugs() -> Vec<String> {
    let g = get("/api/v1/verdicts?target_group=adolescent+girls&income_setting=LIC");
    let v: serde_json::Value = serde_json::from_slice(&g.body).unwrap();
    let rows = v["rows"].as_array().unwrap();
    rows.iter().map(|r| evidex::report::site::slug_of(r["intervention"].as_str().unwrap())).collect()
}

#[test]
fn every_route_answers_with_its_type_and_the_security_headers() {
    let slugs = ranked_slugs();
    let (slug, other) = (&slugs[0], &slugs[1]);
    let html = "text/html";
    for uri in [
        "/".to_string(),
        "/?target_group=boys".into(),
        "/find?target_group=adolescent+girls&income_setting=LIC&strategy=&domain=".into(),
        "/find".into(),
        format!("/intervention/{slug}"),
        format!("/compare?ids={slug},{other}&target_group=adolescent+girls&income_setting=LIC"),
        format!("/compare?ids={slug}&ids={other}&target_group=adolescent+girls&income_setting=LIC"),
        "/gap-map?income_setting=LIC".into(),
        "/method".into(),
        "/data".into(),
        "/report.html".into(),
    ] {
        let g = expect(&uri, StatusCode::OK, html);
        assert!(g.text().starts_with("<!DOCTYPE html>"), "{uri}");
    }
    assert!(get("/report.html").header("content-disposition").starts_with("attachment"));
    expect("/static/evidex.css", StatusCode::OK, "text/css");
    expect("/static/evidex.js", StatusCode::OK, "text/javascript");
    let svg = expect("/gap-map.svg?income_setting=LIC", StatusCode::OK, "image/svg+xml");
    assert!(svg.text().contains("<svg"));
    let png = expect("/gap-map.png?level=strategy", StatusCode::OK, "image/png");
    assert_eq!(&png.body[..8], b"\x89PNG\r\n\x1a\n");
    let forest =
        "/forest/comprehensive-sexuality-education.svg?target_group=boys&income_setting=HIC&domain=risk_factor";
    assert!(expect(forest, StatusCode::OK, "image/svg+xml").text().contains("<svg"));
    let png = expect(&forest.replace(".svg", ".png"), StatusCode::OK, "image/png");
    assert_eq!(&png.body[..4], b"\x89PNG");
    expect("/forest/comprehensive-sexuality-education.svg?target_group=boys", StatusCode::BAD_REQUEST, html);
    expect("/forest/no-such-programme.svg?target_group=boys&income_setting=HIC", StatusCode::NOT_FOUND, html);
    assert_eq!(get("/favicon.ico").status, StatusCode::NO_CONTENT);
    for (uri, ct) in [
        ("/api/v1/verdicts".to_string(), "application/json"),
        ("/api/v1/verdicts.csv".into(), "text/csv"),
        (format!("/api/v1/interventions/{slug}"), "application/json"),
        (format!("/api/v1/interventions/{slug}.csv"), "text/csv"),
        ("/api/v1/gap-map?income_setting=LIC".into(), "application/json"),
        ("/api/v1/gap-map.csv".into(), "text/csv"),
        (format!("/api/v1/studies?intervention={slug}"), "application/json"),
        (format!("/api/v1/studies.csv?intervention={slug}&income_setting=LIC"), "text/csv"),
        ("/api/v1/openapi.json".into(), "application/json"),
    ] {
        let g = expect(&uri, StatusCode::OK, ct);
        if ct == "application/json" {
            serde_json::from_slice::<serde_json::Value>(&g.body).unwrap_or_else(|e| panic!("{uri}: {e}"));
        } else {
            assert!(g.text().lines().count() >= 2, "{uri}: {}", g.text());
        }
    }
}

/// The API's verdicts are the command line's bytes.
#[test]
fn api_verdicts_are_the_cli_output_byte_for_byte() {
    let cases: [(&str, &[&str]); 6] = [
        (
            "/api/v1/verdicts?target_group=adolescent+girls&income_setting=LIC",
            &["rank", VAC, "--target-group", "adolescent girls", "--income-setting", "LIC", "--format", "json"],
        ),
        (
            "/api/v1/verdicts.csv?target_group=Adolescent%20Girls&income_setting=low+income",
            &["rank", VAC, "--target-group", "adolescent girls", "--income-setting", "LIC", "--format", "csv"],
        ),
        (
            "/api/v1/verdicts?target_group=boys&income_setting=HIC&strategy=parent_support",
            &[
                "rank",
                VAC,
                "--target-group",
                "boys",
                "--income-setting",
                "HIC",
                "--strategy",
                "parent_support",
                "--format",
                "json",
            ],
        ),
        ("/api/v1/verdicts", &["score", VAC, "--format", "json"]),
        ("/api/v1/verdicts.csv?unknown=1", &["score", VAC, "--format", "csv"]),
        ("/api/v1/verdicts?income_setting=", &["score", VAC, "--format", "json"]),
    ];
    for (uri, args) in cases {
        let cli = run(args).expect_code(0).stdout.clone();
        let api = get(uri);
        assert_eq!(api.status, StatusCode::OK, "{uri}: {}", api.text());
        assert!(
            api.text() == cli,
            "{uri} differs from evidex {}:\n--- api\n{}\n--- cli\n{cli}",
            args.join(" "),
            api.text()
        );
    }
    // Filtered score: exactly the matching rows of the whole document.
    let all: serde_json::Value = serde_json::from_slice(&get("/api/v1/verdicts").body).unwrap();
    let lic: serde_json::Value = serde_json::from_slice(&get("/api/v1/verdicts?income_setting=LIC").body).unwrap();
    let want: Vec<&serde_json::Value> =
        all["rows"].as_array().unwrap().iter().filter(|r| r["income_setting"] == "LIC").collect();
    let got: Vec<&serde_json::Value> = lic["rows"].as_array().unwrap().iter().collect();
    assert!(!got.is_empty() && got == want);
    assert_eq!(all["run"], lic["run"]);
}

#[test]
fn errors_are_404_400_405_414_in_words() {
    let g = expect("/no/such/page", StatusCode::NOT_FOUND, "text/html");
    assert!(g.text().contains("/no/such/page"));
    expect("/intervention/no-such-programme", StatusCode::NOT_FOUND, "text/html");
    expect("/api/v1/interventions/no-such-programme", StatusCode::NOT_FOUND, "application/json");
    expect("/api/v1/studies?intervention=nope", StatusCode::NOT_FOUND, "application/json");
    let g = expect("/compare?ids=one-only&target_group=boys&income_setting=HIC", StatusCode::BAD_REQUEST, "text/html");
    assert!(g.text().contains("<p class=\"error\">"), "{}", g.text());
    let g = expect("/find?income_setting=middle", StatusCode::BAD_REQUEST, "text/html");
    assert!(g.text().contains("income_setting"), "{}", g.text());
    let g = expect(
        "/api/v1/verdicts?target_group=martians&income_setting=LIC",
        StatusCode::BAD_REQUEST,
        "application/json",
    );
    assert!(g.text().contains("target groups present"), "{}", g.text());
    expect("/api/v1/gap-map?level=country", StatusCode::BAD_REQUEST, "application/json");
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let g = request(method, "/", Some("localhost:8080"));
        assert_eq!(g.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(g.header("allow"), "GET, HEAD");
        assert_secure(&g, method);
    }
    let long_query = format!("/find?target_group={}", "a".repeat(3000));
    assert_eq!(get(&long_query).status, StatusCode::URI_TOO_LONG);
    let long_path = format!("/intervention/{}", "a".repeat(600));
    let g = get(&long_path);
    assert_eq!(g.status, StatusCode::URI_TOO_LONG);
    assert_secure(&g, "414");
    // Unknown keys are ignored.
    expect("/find?utm_source=x&target_group=boys", StatusCode::OK, "text/html");
}

/// DNS rebinding: a page on another name must not reach the portal.
#[test]
fn host_header_must_name_this_server() {
    for bad in [Some("evil.example"), Some("evil.example:8080"), Some("127.0.0.1:9999"), None] {
        let g = request("GET", "/api/v1/verdicts", bad);
        assert_eq!(g.status, StatusCode::MISDIRECTED_REQUEST, "{bad:?}");
        assert_secure(&g, "421");
        assert!(!g.text().contains("rows"));
    }
    for good in ["localhost:8080", "127.0.0.1:8080", "[::1]:8080"] {
        assert_eq!(request("GET", "/", Some(good)).status, StatusCode::OK, "{good}");
    }
}

#[test]
fn head_answers_like_get_without_a_body() {
    for uri in ["/", "/api/v1/verdicts", "/static/evidex.css"] {
        let h = request("HEAD", uri, Some("localhost:8080"));
        let g = get(uri);
        assert_eq!(h.status, StatusCode::OK, "{uri}");
        assert!(h.body.is_empty(), "{uri}");
        assert_eq!(h.header("content-type"), g.header("content-type"));
        assert_secure(&h, uri);
    }
}

#[test]
fn openapi_lists_every_api_path() {
    let v: serde_json::Value = serde_json::from_slice(&get("/api/v1/openapi.json").body).unwrap();
    assert!(v["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/v1/verdicts",
        "/api/v1/verdicts.csv",
        "/api/v1/interventions/{slug}",
        "/api/v1/gap-map",
        "/api/v1/gap-map.csv",
        "/api/v1/studies",
        "/api/v1/studies.csv",
        "/api/v1/openapi.json",
    ] {
        assert!(v["paths"][p]["get"].is_object(), "{p} missing from the OpenAPI document");
    }
}

#[test]
fn start_up_refusals_exit_before_listening() {
    let r = run(&["serve", VAC, "--host", "0.0.0.0", "--port", "0"]);
    r.expect_code(2).expect_stderr("--allow-remote");
    assert!(r.stdout.is_empty());
    run(&["serve", VAC, "--host", "example.org"]).expect_code(2).expect_stderr("not an IP address");
    // Standard output's first line is the URL: nothing else goes there.
    run(&["serve", VAC, "--rejects", "-", "--port", "0"]).expect_code(2).expect_stderr("--rejects FILE");
    // --strict with a rejected row: exit 1 before listening.
    let dir = tempfile::tempdir().unwrap();
    let bad = format!(
        "{}R9999,S9,X,,boys,HIC,CAN,rct,low,10,2020,disclosure,promissing,,,,x\n",
        std::fs::read_to_string(data(VAC)).unwrap()
    );
    std::fs::write(dir.path().join("in.csv"), bad).unwrap();
    let r = crate::util::run_in(dir.path(), &["serve", "in.csv", "--strict", "--port", "0"]);
    r.expect_code(1).expect_stderr("rows rejected under --strict");
    assert!(r.stdout.is_empty(), "{}", r.show());
}

/// The real server: start-up line, a page over TCP, shutdown within the
/// deadline even with an idle connection open.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &std::path::Path, args: &[&str]) -> Server {
        let mut child = Command::new(crate::util::bin())
            .arg("serve")
            .args(args)
            .args(["--port", "0", "--quiet"])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start evidex serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line
            .strip_prefix("listening on http://127.0.0.1:")
            .and_then(|r| r.strip_suffix("/\n"))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("first line: {line:?}"));
        Server { child, port }
    }

    /// `(status, body)` of a GET over a fresh connection.
    fn get(&self, path: &str) -> (u16, String) {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n", self.port).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    }

    /// SIGTERM; the exit status, or a panic past `limit`.
    fn stop(mut self, limit: Duration) -> std::process::ExitStatus {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let t = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if t.elapsed() > limit {
                let _ = self.child.kill();
                panic!("evidex serve still running {limit:?} after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn real_server_prints_its_url_serves_and_stops_within_the_deadline() {
    let s = Server::start(&repo(), &[VAC]);
    let (status, body) = s.get("/");
    assert_eq!(status, 200);
    assert!(body.contains("<html"));
    let (status, body) = s.get("/api/v1/verdicts?target_group=adolescent+girls&income_setting=LIC");
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|v| v["run"].is_object()), "{body}");
    // An idle keep-alive connection, as a browser pre-connects one.
    let idle = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    let status = s.stop(Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    drop(idle);
}

#[test]
fn watch_rereads_changed_inputs_and_keeps_the_data_when_they_break() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read_to_string(data(VAC)).unwrap();
    std::fs::write(dir.path().join("in.csv"), &full).unwrap();
    let s = Server::start(dir.path(), &["in.csv", "--watch"]);
    let before = s.get("/api/v1/verdicts.csv").1;
    // Fewer records: different verdicts.
    let half: String = full.lines().take(120).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("in.csv"), half).unwrap();
    let after = wait_for(|| Some(s.get("/api/v1/verdicts.csv").1).filter(|b| *b != before), "the re-read data");
    assert!(after.lines().count() < before.lines().count());
    // A broken file: the data stays, the error shows on /data.
    std::fs::write(dir.path().join("in.csv"), "this,is\nnot,evidence\n").unwrap();
    let data_page =
        wait_for(|| Some(s.get("/data").1).filter(|b| b.contains("missing required columns")), "the error on /data");
    assert!(data_page.contains("in.csv: missing required columns intervention"), "{data_page}");
    assert_eq!(s.get("/api/v1/verdicts.csv").1, after);
    let _ = s.stop(Duration::from_secs(5));
}

fn wait_for(mut f: impl FnMut() -> Option<String>, what: &str) -> String {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(20) {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}
