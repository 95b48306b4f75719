//! `TEST_LOG=1 cargo test <name> -- --nocapture` shows the bot's logs (filtered by `RUST_LOG`,
//! `info` by default) in a test; without `TEST_LOG` tests stay quiet.

/// Installs the log output once per test binary when `TEST_LOG` is set; call it wherever a test
/// starts the bot (calling it again does nothing).
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("TEST_LOG").is_none() {
        return;
    }
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        // `try_init`: a test that installed its own subscriber keeps it.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}
