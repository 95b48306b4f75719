//! One integration-test binary: real SQLite files, a real SMTP server, the fake Discord.

mod core;
mod helpers;
