//! The bot as a process, as an admin runs it: a refused token and an unreachable Discord end
//! with one clear line; SIGTERM ends it quickly whatever Discord does.

use crate::support::fake_discord::{FakeDiscord, Fixture};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bot_command(api_proxy: &str, token: &str, dir: &tempfile::TempDir) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_masterclass-bot"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .env("MCB_DISCORD__TOKEN", token)
        .env("MCB_DISCORD__API_PROXY", api_proxy)
        .env("MCB_DATABASE__PATH", dir.path().join("bot.db"))
        .env("MCB_EMAIL__OUTBOX_DIR", dir.path().join("mail"))
        .env("MCB_EMAIL__SMTP_HOST", "")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[tokio::test]
async fn a_refused_token_stops_the_bot_with_one_clear_line() {
    let fake = FakeDiscord::start(Fixture::new(1, 2)).await;
    let dir = tempfile::tempdir().unwrap();
    let child = bot_command(&fake.base_url(), "not-the-token", &dir)
        .spawn()
        .expect("the bot starts");
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .expect("the bot stops by itself")
    .unwrap()
    .unwrap();
    let log = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "exits non-zero\n{log}");
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "one line:\n{log}");
    assert!(
        errors[0].contains("token"),
        "names the cause: {}",
        errors[0]
    );
}

#[tokio::test]
async fn sigterm_ends_the_bot_quickly_while_discord_is_unreachable() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let mut child = bot_command(&format!("http://127.0.0.1:{port}"), "a-token", &dir)
        .spawn()
        .expect("the bot starts");
    let stdout = child.stdout.take().unwrap();
    // The bot is up (signal handlers installed) once it says Discord does not answer.
    let trying = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("Discord does not answer yet"))
    });
    let seen = tokio::time::timeout(Duration::from_secs(30), trying)
        .await
        .expect("the bot tries to reach Discord")
        .unwrap();
    assert!(seen);
    let asked = Instant::now();
    // As `docker stop` does.
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::task::spawn_blocking(move || child.wait()),
    )
    .await
    .expect("ends within 10 s of SIGTERM")
    .unwrap()
    .unwrap();
    assert!(asked.elapsed() < Duration::from_secs(10));
    assert!(
        status.success(),
        "a requested stop is a clean stop: {status}"
    );
}
