//! One integration-test binary: real SQLite files, a real SMTP server, the fake Discord.

mod core;
mod discord;
mod email;
mod fake_discord_smoke;
mod fake_discord_strict;
mod helpers;
mod notify;
mod privacy_logs;
mod process;
mod support;
mod sync;
