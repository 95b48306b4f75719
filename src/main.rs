//! masterclass-bot: `cargo run` with a bot token in `.env` (see README).

use masterclass_bot::app::{shutdown_signal, App};
use masterclass_bot::config::{LogFormat, Settings};
use masterclass_bot::telemetry;
use std::path::Path;
use std::process::ExitCode;

const NO_TOKEN: &str = "No Discord bot token. Create an application and its bot at \
    https://discord.com/developers/applications (Bot → Reset Token), then put \
    MCB_DISCORD__TOKEN=<token> in .env — see README.md.";

#[tokio::main]
async fn main() -> ExitCode {
    // .env only fills the environment; real environment variables win.
    let _ = dotenvy::dotenv();
    let settings = Settings::load(Path::new("config"));
    // A configuration that does not load is reported with the defaults.
    let (filter, format) = settings
        .as_ref()
        .map(|s| (s.log.filter.clone(), s.log.format))
        .unwrap_or_else(|_| ("info".into(), LogFormat::default()));
    telemetry::init(&filter, format);
    let settings = match settings {
        Ok(settings) => settings,
        Err(error) => {
            tracing::error!("{error:#}");
            return ExitCode::from(2);
        }
    };
    if settings.discord.token.is_empty() {
        tracing::error!("{NO_TOKEN}");
        return ExitCode::from(2);
    }
    let app = match App::build(&settings).await {
        Ok(app) => app,
        Err(error) => {
            tracing::error!("cannot start: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let code = match app.run_until(shutdown_signal()).await {
        Ok(()) => 0,
        Err(error) => {
            tracing::error!("stopped: {error:#}");
            1
        }
    };
    // Everything that matters is committed; don't wait for stray connection tasks.
    std::process::exit(code)
}
