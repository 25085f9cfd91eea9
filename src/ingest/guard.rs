//! The reader's edge: calls into file-format libraries (polars, calamine)
//! that can panic on a damaged file go through [`guarded`], which turns the
//! panic into the file's error with the panic's own message.
//!
//! The process-wide panic hook ([`install_panic_hook`], set by the binary)
//! stays quiet only for a panic on a thread that is inside [`guarded`] at
//! that moment, and keeps its message for that call; a panic anywhere else
//! is printed as usual, also while another thread reads a file.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, PanicHookInfo};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// [`guarded`] calls in progress on any thread.
static ACTIVE: AtomicU32 = AtomicU32::new(0);

/// Panics on polars' own worker threads (named `polars-N`) while a guarded
/// read runs: they decode for that read, and their panic travels to it as
/// a payload without a place. Kept here (not printed) so that the read
/// reports them as the file's error with their place.
static WORKERS: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

thread_local! {
    /// How many [`guarded`] calls this thread is inside.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Panics on this thread while inside [`guarded`].
    static CAUGHT: RefCell<Vec<Kept>> = const { RefCell::new(Vec::new()) };
}

/// A panic kept quiet by the hook.
struct Kept {
    thread: String,
    message: String,
    /// `file:line:column`.
    place: Option<String>,
}

impl Kept {
    /// As Rust's default hook prints it.
    fn print(&self) {
        let at = self.place.as_deref().map(|p| format!(" at {p}")).unwrap_or_default();
        eprintln!("thread '{}' panicked{at}:\n{}", self.thread, self.message);
    }
}

/// Run `f` (a call into a file-format library), turning a panic into
/// `Err(message)`: "the reader failed on damaged data (MESSAGE, at FILE:LINE)".
///
/// # Errors
/// The panic of `f`, with its message.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let before = CAUGHT.with(|c| c.borrow().len());
    DEPTH.with(|d| d.set(d.get() + 1));
    ACTIVE.fetch_add(1, Ordering::SeqCst);
    let r = std::panic::catch_unwind(AssertUnwindSafe(f));
    ACTIVE.fetch_sub(1, Ordering::SeqCst);
    DEPTH.with(|d| d.set(d.get() - 1));
    let mut seen: Vec<Kept> = CAUGHT.with(|c| c.borrow_mut().split_off(before));
    if let Err(payload) = &r {
        // A worker's panic that unwound into this read: the one with its
        // message (other reads may be running).
        let message = payload_message(payload.as_ref());
        let mut w = WORKERS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = w.iter().rposition(|k| k.message == message) {
            seen.push(w.remove(i));
        }
    }
    let r = r.map_err(|payload| {
        let message = payload_message(payload.as_ref());
        // The last panic on this thread is the one that unwound to here,
        // unless it came from another thread (a library's worker, printed
        // there by the hook) with its payload only.
        let own = if seen.last().is_some_and(|k| k.message == message) { seen.pop() } else { None };
        match own {
            Some(Kept { place: Some(p), .. }) => format!("the reader failed on damaged data ({message}, at {p})"),
            _ => format!("the reader failed on damaged data ({message})"),
        }
    });
    // A panic on this thread that did not end here (a job of another
    // computation run while waiting, whose panic travels to its owner) was
    // kept quiet: print it now, as the hook would have.
    for k in &seen {
        k.print();
    }
    r
}

/// The text of a panic payload (`panic!` with a message gives a `&str` or a
/// `String`).
fn payload_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Install the process-wide panic hook: a panic on a thread inside
/// [`guarded`] is kept (message and place) for that call, which reports it
/// as the file's error; any other panic goes to `next` (the hook that was
/// set before, usually Rust's default, which prints it).
pub fn install_panic_hook() {
    let next = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !keep_if_guarded(info) {
            next(info);
        }
    }));
}

/// Whether the current thread is inside [`guarded`]; if so, keep the
/// panic's message and place for it.
fn keep_if_guarded(info: &PanicHookInfo<'_>) -> bool {
    let thread = std::thread::current().name().unwrap_or("<unnamed>").to_string();
    let kept = || Kept {
        thread: thread.clone(),
        message: payload_message(info.payload()),
        place: info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())),
    };
    // `try_with`: a panic while the thread's locals are being torn down
    // is not a guarded one (and the hook itself must not panic).
    if DEPTH.try_with(Cell::get).unwrap_or(0) == 0 {
        // Only polars' decoding workers, and only while a read is guarded.
        if thread.starts_with("polars-") && ACTIVE.load(Ordering::SeqCst) > 0 {
            WORKERS.lock().unwrap_or_else(|e| e.into_inner()).push(kept());
            return true;
        }
        return false;
    }
    CAUGHT.try_with(|c| c.borrow_mut().push(kept())).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier, Mutex};

    #[test]
    fn a_guarded_panic_gives_its_own_message_and_place() {
        let e = guarded(|| -> u8 { panic!("bad page header {}", 7) }).unwrap_err();
        assert!(e.starts_with("the reader failed on damaged data (bad page header 7"), "{e}");
        assert_eq!(guarded(|| 5), Ok(5));
        let e = guarded(|| std::panic::panic_any(17u8)).unwrap_err();
        // With the hook installed (another test may have), the place follows.
        assert!(e.starts_with("the reader failed on damaged data (a panic without a message"), "{e}");
    }

    /// A panic on one of polars' decoding workers while a read is guarded
    /// travels to that read: it is reported once, as the file's error with
    /// its place, not printed by the hook as well.
    /// Tests that set the process-wide hook take turns.
    static HOOK: Mutex<()> = Mutex::new(());

    #[test]
    fn a_decoding_workers_panic_is_the_reads_error() {
        let _turn = HOOK.lock().unwrap_or_else(|e| e.into_inner());
        install_panic_hook();
        let e = guarded(|| {
            let h = std::thread::Builder::new()
                .name("polars-7".into())
                .spawn(|| -> u8 { panic!("offset + length <= self.length") })
                .unwrap();
            match h.join() {
                Ok(v) => v,
                Err(payload) => std::panic::resume_unwind(payload),
            }
        })
        .unwrap_err();
        assert!(e.contains("offset + length <= self.length"), "{e}");
        assert!(e.contains("guard.rs:"), "the worker's place is kept: {e}");
    }

    /// The hook is process-wide; guarding a read on one thread must not
    /// silence a panic on another (issue 19: one global counter did).
    #[test]
    fn panics_on_other_threads_still_reach_the_hook() {
        let _turn = HOOK.lock().unwrap_or_else(|e| e.into_inner());
        static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            SEEN.lock().unwrap_or_else(|e| e.into_inner()).push(payload_message(info.payload()));
            default(info);
        }));
        install_panic_hook();

        let inside = Arc::new(Barrier::new(2));
        let done = Arc::new(Barrier::new(2));
        let reader = {
            let (inside, done) = (inside.clone(), done.clone());
            std::thread::spawn(move || {
                guarded(|| {
                    inside.wait();
                    done.wait();
                    panic!("damaged footer");
                })
            })
        };
        inside.wait();
        // The reader is inside its guarded call now.
        let other = std::thread::spawn(|| panic!("unrelated bug")).join();
        assert!(other.is_err());
        done.wait();
        let read = reader.join().expect("the guard catches the reader's panic");
        let quiet_main = std::panic::catch_unwind(|| panic!("main thread bug"));
        assert!(quiet_main.is_err());

        // Back to Rust's default hook for the other tests.
        drop(std::panic::take_hook());
        let seen = SEEN.lock().unwrap().clone();
        let err = read.unwrap_err();
        assert!(err.contains("damaged footer") && err.contains("src/ingest/guard.rs"), "{err}");
        assert!(seen.iter().any(|m| m == "unrelated bug"), "{seen:?}");
        assert!(seen.iter().any(|m| m == "main thread bug"), "{seen:?}");
        assert!(!seen.iter().any(|m| m == "damaged footer"), "the guarded panic was printed too: {seen:?}");
    }
}
