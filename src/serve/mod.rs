//! `evidex serve`: the evidence portal and its API over HTTP/1 on this
//! machine (axum on tokio).
//!
//! Data flow: the caller reads, validates and scores once into a
//! [`Site`]; [`run`] binds (loopback unless remote access is allowed),
//! reports the address, and answers every request from the current
//! [`state::Snapshot`] (look-ups and serialisation only). With `watch`, a
//! thread polls the inputs' sizes and modification times and swaps in a
//! freshly read state; a failed re-read keeps the old one and shows the
//! error on /data. SIGINT/SIGTERM stop accepting, let requests in flight
//! finish, and exit after [`SHUTDOWN_DEADLINE`] at the latest (idle
//! keep-alive connections, e.g. a browser's pre-connected sockets, would
//! otherwise hold a graceful shutdown open).

pub mod api;
pub mod cache;
pub mod routes;
pub mod security;
pub mod state;

use crate::report::site::Site;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use routes::router;
pub use security::HostPolicy;
pub use state::State;

/// Default port of `evidex serve`.
pub const DEFAULT_PORT: u16 = 8080;
/// Longest wait for open connections after SIGINT/SIGTERM.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(2);
/// How often `--watch` looks at the inputs.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// Reads, validates and scores the inputs again (for `--watch`); the error
/// is shown on /data as written.
pub type Loader = Box<dyn Fn() -> Result<Site, String> + Send + Sync>;

/// How to serve.
pub struct ServeOptions {
    pub addr: SocketAddr,
    /// Accept the bound (non-loopback) address in `Host` as well.
    pub allow_remote: bool,
    /// Files to watch and how to read them again.
    pub watch: Option<Watch>,
}

/// What `--watch` watches.
pub struct Watch {
    pub files: Vec<PathBuf>,
    pub loader: Loader,
    /// The files as they were before the data being served was read
    /// ([`fingerprint`]): a change from then on is read.
    pub seen: Fingerprint,
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error("cannot start the server runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot listen on {addr}: {source} (another program may use the port; --port 0 picks a free one)")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

/// Serve `site` until SIGINT or SIGTERM. `listening` is called once with
/// the bound address, before the first request is accepted.
///
/// # Errors
/// The runtime cannot start, the address cannot be bound, or accepting
/// fails.
pub fn run(site: Site, opts: ServeOptions, listening: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(ServeError::Runtime)?;
    let state = Arc::new(State::new(site));
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(opts.addr)
            .await
            .map_err(|source| ServeError::Bind { addr: opts.addr, source })?;
        let bound = listener.local_addr().map_err(ServeError::Serve)?;
        listening(bound);
        if let Some(w) = opts.watch {
            spawn_watch(state.clone(), w);
        }
        let app = router(state, HostPolicy::new(bound, opts.allow_remote));
        axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await.map_err(ServeError::Serve)
    });
    rt.shutdown_timeout(Duration::from_millis(100));
    result
}

/// Resolves at SIGINT or SIGTERM, and from then on a timer ends the
/// process at the deadline whatever connections are still open.
async fn shutdown_signal() {
    wait_for_signal().await;
    eprintln!("evidex: shutting down (at most {} s)", SHUTDOWN_DEADLINE.as_secs());
    std::thread::spawn(|| {
        std::thread::sleep(SHUTDOWN_DEADLINE);
        std::process::exit(0);
    });
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        // No signal handling: serve until killed.
        return std::future::pending().await;
    };
    std::future::poll_fn(|cx| {
        if term.poll_recv(cx).is_ready() || int.poll_recv(cx).is_ready() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// What identifies a version of the inputs: size and modification time.
pub type Fingerprint = Vec<Option<(u64, SystemTime)>>;

/// The inputs' sizes and modification times now.
pub fn fingerprint(files: &[PathBuf]) -> Fingerprint {
    files
        .iter()
        .map(|f| std::fs::metadata(f).ok().map(|m| (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH))))
        .collect()
}

/// Poll the inputs; on a change that has settled (same fingerprint twice),
/// read them again and swap the state.
fn spawn_watch(state: Arc<State>, w: Watch) {
    let Watch { files, loader, mut seen } = w;
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(WATCH_INTERVAL);
            let now = fingerprint(&files);
            if now == seen {
                continue;
            }
            // Still being written? Wait for two equal looks.
            std::thread::sleep(WATCH_INTERVAL / 2);
            if fingerprint(&files) != now {
                continue;
            }
            seen = now;
            match loader() {
                Ok(site) => {
                    state.replace(site);
                    eprintln!("evidex: inputs changed; data re-read");
                }
                Err(e) => {
                    eprintln!("evidex: inputs changed but cannot be read (still showing the previous data): {e}");
                    state.reload_failed(e);
                }
            }
        }
    });
}
