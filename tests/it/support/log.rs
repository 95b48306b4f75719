//! `TEST_LOG=1 cargo test <name> -- --nocapture` shows the bot's logs (filtered by `RUST_LOG`,
//! `info` by default) in a test; without `TEST_LOG` tests stay quiet. [`Captured`] records a
//! test's whole log instead, to check what it says (and what it never says).
//!
//! Both use the subscriber the binary installs (`telemetry::subscriber`), caps included.

use masterclass_bot::config::LogFormat;
use masterclass_bot::telemetry;
use std::cell::RefCell;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tracing::dispatcher::{DefaultGuard, Dispatch};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Installs the log output once per test binary when `TEST_LOG` is set; call it wherever a test
/// starts the bot (calling it again does nothing).
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("TEST_LOG").is_none() {
        return;
    }
    ONCE.call_once(|| {
        let filter = telemetry::env_filter("info");
        let writer = tracing_subscriber::fmt::TestWriter::new();
        let subscriber = telemetry::subscriber(filter, LogFormat::Pretty, writer, false);
        // A test that installed its own subscriber keeps it.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// Everything logged on the threads of [`Captured::run`], as the bot would write it.
pub struct Captured {
    buffer: Buffer,
    dispatch: Dispatch,
}

/// Where the captured log is written; waiters wake on every write.
#[derive(Clone)]
struct Buffer {
    text: Arc<Mutex<Vec<u8>>>,
    /// Bytes written so far.
    written: Arc<watch::Sender<usize>>,
}

thread_local! {
    static CAPTURING: RefCell<Option<DefaultGuard>> = const { RefCell::new(None) };
}

impl Captured {
    /// The bot's subscriber with `filter` for every target (whatever `RUST_LOG` says), writing
    /// `format` into memory.
    pub fn new(filter: &str, format: LogFormat) -> Captured {
        let buffer = Buffer {
            text: Arc::default(),
            written: Arc::new(watch::channel(0).0),
        };
        let subscriber =
            telemetry::subscriber(EnvFilter::new(filter), format, buffer.clone(), false);
        Captured {
            buffer,
            dispatch: Dispatch::new(subscriber),
        }
    }

    /// Runs `test` on a runtime of its own whose every thread (workers, blocking pool, and this
    /// one) logs here, so it sees the bot, serenity and whatever they spawn, but not the other
    /// tests of the binary.
    pub fn run<F: Future>(&self, test: F) -> F::Output {
        let dispatch = self.dispatch.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .on_thread_start(move || {
                let guard = tracing::dispatcher::set_default(&dispatch);
                CAPTURING.with(|slot| *slot.borrow_mut() = Some(guard));
            })
            .on_thread_stop(|| CAPTURING.with(|slot| drop(slot.borrow_mut().take())))
            .build()
            .expect("a runtime");
        let output = tracing::dispatcher::with_default(&self.dispatch, || runtime.block_on(test));
        runtime.shutdown_timeout(Duration::from_secs(5));
        output
    }

    pub fn text(&self) -> String {
        let bytes = self.buffer.lock().clone();
        String::from_utf8(bytes).expect("the log is UTF-8")
    }

    /// Waits until a line of the log contains every one of `parts`; panics after `timeout`.
    pub async fn wait_for_line(&self, parts: &[&str], timeout: Duration) {
        // Only lines completed since the last look are read again.
        let mut checked = 0;
        let mut has_line = || {
            let text = self.buffer.lock();
            let Some(end) = text[checked..].iter().rposition(|b| *b == b'\n') else {
                return false;
            };
            let lines = String::from_utf8_lossy(&text[checked..checked + end]).into_owned();
            checked += end + 1;
            lines
                .lines()
                .any(|line| parts.iter().all(|part| line.contains(part)))
        };
        let mut written = self.buffer.written.subscribe();
        let found = tokio::time::timeout(timeout, written.wait_for(|_| has_line())).await;
        assert!(
            found.is_ok(),
            "no log line with {parts:?} within {timeout:?}"
        );
    }
}

impl Buffer {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.text.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let len = {
            let mut text = self.lock();
            text.extend_from_slice(bytes);
            text.len()
        };
        self.written.send_replace(len);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'w self) -> Buffer {
        self.clone()
    }
}
