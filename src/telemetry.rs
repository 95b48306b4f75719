//! The log: one subscriber for the binary and the tests, filtered by `log.filter` (or `RUST_LOG`)
//! and, whatever that filter says, capped for the dependencies that see raw traffic.
//!
//! Why the cap: a member types their email verification code into a slash command, which arrives
//! as a gateway `INTERACTION_CREATE` event, and an email carries the code over SMTP. serenity
//! records every gateway event whole as a field of its `handle_event` / `handle_gateway_dispatch`
//! spans (printed with any line logged inside them, such as its "Sequence off" warning), its
//! gateway warnings quote the raw payload ("Err deserializing text: …; text: {payload}"), its HTTP
//! spans carry request bodies and interaction tokens, and the HTTP, WebSocket, TLS and SMTP crates
//! trace frames at debug/trace. So, for the crates in [`CAPPED`]: no span ever reaches the log,
//! and events only at their crate's ceiling (INFO, ERROR for serenity's gateway socket) or more
//! severe. `RUST_LOG=trace` cannot lift it; our own targets are not capped, and never record
//! what a member typed (the interaction span carries ids, the command name and our custom_id).

use crate::config::LogFormat;
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::filter::{EnvFilter, FilterExt as _, FilterFn, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::Layer as _;

/// Target prefixes (a crate, or a module of one) and the most verbose level of their events that
/// may be logged; the first match wins, so a module comes before its crate.
pub const CAPPED: &[(&str, Level)] = &[
    // Its warnings quote whole gateway payloads; it logs nothing at ERROR.
    ("serenity::gateway::ws", Level::ERROR),
    ("serenity", Level::INFO),
    ("poise", Level::INFO),
    ("tungstenite", Level::INFO),
    ("tokio_tungstenite", Level::INFO),
    ("reqwest", Level::INFO),
    ("hyper", Level::INFO),
    ("hyper_util", Level::INFO),
    ("hyper_rustls", Level::INFO),
    ("h2", Level::INFO),
    ("tower", Level::INFO),
    ("want", Level::INFO),
    ("rustls", Level::INFO),
    ("tokio_rustls", Level::INFO),
    // The SMTP transcript carries every email whole, the code included.
    ("lettre", Level::INFO),
];

/// The ceiling of a target's events, if it belongs to a capped crate.
fn ceiling(target: &str) -> Option<Level> {
    CAPPED.iter().find_map(|(prefix, level)| {
        let inside = target
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"));
        inside.then_some(*level)
    })
}

/// Whether the cap lets this span or event through, whatever the configured filter says.
pub fn allowed(meta: &Metadata<'_>) -> bool {
    match ceiling(meta.target()) {
        None => true,
        // tracing orders levels by verbosity: TRACE is the greatest.
        Some(ceiling) => meta.is_event() && *meta.level() <= ceiling,
    }
}

/// The configured filter, unless `RUST_LOG` is set (it wins, as documented in config/default.toml).
pub fn env_filter(configured: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(configured))
}

/// The bot's subscriber, writing to `writer`: `filter` and the cap, in `format`. Tests install it
/// with their own writer, so they check the very cap the binary runs with.
pub fn subscriber<W>(
    filter: EnvFilter,
    format: LogFormat,
    writer: W,
    ansi: bool,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // The hint keeps the configured filter's maximum level: `And` has none if one side has none.
    let cap = FilterFn::new(allowed).with_max_level_hint(LevelFilter::TRACE);
    let output = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi);
    let layer = match format {
        LogFormat::Pretty => output.boxed(),
        // One object a line, with the fields of every enclosing span (interaction, delivery).
        LogFormat::Json => output.json().boxed(),
    };
    tracing_subscriber::registry().with(layer.with_filter(filter.and(cap)))
}

/// Installs the log of the binary: standard output, colours unless `NO_COLOR` is set.
pub fn init(configured_filter: &str, format: LogFormat) {
    let ansi = std::env::var("NO_COLOR").map_or(true, |v| v.is_empty());
    let subscriber = subscriber(env_filter(configured_filter), format, std::io::stdout, ansi);
    tracing::subscriber::set_global_default(subscriber).expect("the log is set up only once");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
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

    /// Everything logged by `work` under the bot's subscriber with `filter`, in `format`.
    fn logged(filter: &str, format: LogFormat, work: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let subscriber = subscriber(EnvFilter::new(filter), format, buffer.clone(), false);
        tracing::subscriber::with_default(subscriber, work);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    /// What serenity does with a gateway event, spelled with its own targets and levels.
    fn serenity_handles_an_interaction() {
        let event = r#"InteractionCreate { data: { name: "settings", options: [{ value: String("482913") }] } }"#;
        let span = tracing::info_span!(target: "serenity::gateway::shard", "handle_event", event);
        let _entered = span.enter();
        tracing::warn!(target: "serenity::gateway::shard", "Sequence off; them: 9, us: 7");
        tracing::debug!(target: "serenity::gateway::shard", "dispatch {event}");
        tracing::warn!(target: "serenity::gateway::ws", "Err deserializing text: EOF; text: {event}");
        tracing::trace!(target: "tungstenite::protocol", "Received message {event}");
        tracing::trace!(target: "lettre::transport::smtp", "Wrote: Your code is 482913");
    }

    #[test]
    fn no_filter_lifts_the_cap_on_dependencies() {
        for filter in [
            "trace",
            "serenity=trace,tungstenite=trace,lettre=trace",
            "info",
        ] {
            for format in [LogFormat::Pretty, LogFormat::Json] {
                let log = logged(filter, format, serenity_handles_an_interaction);
                assert!(!log.contains("482913"), "{filter} {format:?}: {log}");
                // The warning itself is kept, without the span that carried the event.
                assert!(log.contains("Sequence off"), "{filter} {format:?}: {log}");
                assert!(!log.contains("handle_event"), "{filter} {format:?}: {log}");
            }
        }
    }

    #[test]
    fn our_own_targets_follow_the_filter_and_dependencies_keep_their_warnings() {
        let log = logged("trace", LogFormat::Pretty, || {
            let span = tracing::info_span!("interaction", command = "settings email verify");
            let _entered = span.enter();
            tracing::trace!(target: "masterclass_bot::discord", "our trace line");
            tracing::info!(target: "serenity::gateway::bridge::shard_runner", "Running");
            tracing::debug!(target: "serenity::http", "serenity debug line");
            tracing::info!(target: "serenity_like_crate", "not serenity");
        });
        assert!(log.contains("our trace line"), "{log}");
        assert!(log.contains("settings email verify"), "{log}");
        assert!(log.contains("Running"), "{log}");
        assert!(!log.contains("serenity debug line"), "{log}");
        assert!(log.contains("not serenity"), "{log}");

        let quiet = logged("warn", LogFormat::Pretty, || {
            tracing::info!(target: "serenity::gateway", "serenity info line");
            tracing::info!(target: "masterclass_bot", "our info line");
        });
        assert!(
            quiet.is_empty(),
            "the configured filter still applies: {quiet}"
        );
    }

    #[test]
    fn ceilings_match_whole_path_segments() {
        assert_eq!(ceiling("serenity"), Some(Level::INFO));
        assert_eq!(ceiling("serenity::http::client"), Some(Level::INFO));
        assert_eq!(ceiling("serenity::gateway::ws"), Some(Level::ERROR));
        assert_eq!(
            ceiling("hyper_util::client::legacy::pool"),
            Some(Level::INFO)
        );
        assert_eq!(ceiling("hyperion"), None);
        assert_eq!(ceiling("masterclass_bot::discord"), None);
        assert!(Level::WARN < Level::INFO && Level::DEBUG > Level::INFO);
    }
}
