//! Email verification codes never reach the log: the whole flow (`/settings email set`, the
//! email, `/settings email verify` with the code typed in the gateway event) through the real bot
//! and the fake Discord, with TRACE logging for every target, through the subscriber the binary
//! installs (so its cap on dependencies is what is tested).

use crate::support::bot::*;
use crate::support::log::Captured;
use crate::support::smtp::TestSmtp;
use masterclass_bot::config::{LogFormat, Settings, SmtpSecurity};
use serde_json::json;
use std::sync::atomic::{AtomicU16, Ordering};

const ADDRESS: &str = "mentee@example.org";

/// The port of the test SMTP server, for `with_smtp` (settings are changed by a plain `fn`).
static SMTP_PORT: AtomicU16 = AtomicU16::new(0);

fn with_smtp(settings: &mut Settings) {
    settings.email.smtp_host = "127.0.0.1".into();
    settings.email.smtp_port = SMTP_PORT.load(Ordering::SeqCst);
    settings.email.smtp_security = SmtpSecurity::Plain;
}

#[test]
fn the_code_is_never_logged_when_emails_go_by_smtp() {
    let smtp = TestSmtp::start();
    SMTP_PORT.store(smtp.port(), Ordering::SeqCst);
    let log = Captured::new("trace", LogFormat::Json);
    let code = log.run(async {
        let bot = spawn_bot_configured(1, with_smtp).await;
        let code = verify_by_email(&bot, &log, || async {
            let mails = smtp.wait_for_messages(1, T).await;
            mails[0]
                .parse()
                .body_text(0)
                .expect("a text part")
                .into_owned()
        })
        .await;
        stop(bot).await;
        code
    });
    assert_never_logged(&log.text(), &code);
}

#[test]
fn the_code_is_never_logged_when_emails_are_written_to_files() {
    let log = Captured::new("trace", LogFormat::Pretty);
    let code = log.run(async {
        let bot = spawn_bot_with(1).await;
        let code = verify_by_email(&bot, &log, || async {
            log.wait_for_line(&["email written to outbox"], T).await;
            let mail = bot.dir.path().join("mail");
            let files: Vec<_> = std::fs::read_dir(&mail)
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
                .collect();
            assert_eq!(files.len(), 1, "{files:?}");
            let bytes = std::fs::read(&files[0]).unwrap();
            let message = mail_parser::MessageParser::default().parse(&bytes).unwrap();
            message.body_text(0).expect("a text part").into_owned()
        })
        .await;
        stop(bot).await;
        code
    });
    assert_never_logged(&log.text(), &code);
}

/// The member asks for a code, reads it from the email that `email_text` waits for, and types
/// it; returns the code.
async fn verify_by_email<F, Fut>(bot: &TestBot, log: &Captured, email_text: F) -> String
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let address = json!([{"name": "address", "type": 3, "value": ADDRESS}]);
    let h = bot
        .command_in(GENERAL, MENTEE, "settings", "email set", address)
        .await;
    let answer = bot.reply_text(&h).await;
    assert!(answer.starts_with("I've sent a 6-digit code"), "{answer}");

    let text = email_text().await;
    let code = code_in(&text);

    let typed = json!([{"name": "code", "type": 3, "value": code}]);
    let h = bot
        .command_in(GENERAL, MENTEE, "settings", "email verify", typed)
        .await;
    let answer = bot.reply_text(&h).await;
    assert_eq!(answer, format!("Verified: emails go to {ADDRESS}."));
    // The interaction span closes its work with this line: the capture saw the verification.
    log.wait_for_line(&["interaction handled", "settings email verify"], T)
        .await;
    code
}

fn code_in(email: &str) -> String {
    let after = email
        .split("Your verification code is: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no code in {email}"));
    let code: String = after.chars().take(6).collect();
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{email}");
    code
}

async fn stop(mut bot: TestBot) {
    let (stop, task) = bot.app.take().expect("running");
    stop.send(()).ok();
    tokio::time::timeout(T, task)
        .await
        .expect("stops in time")
        .unwrap()
        .expect("clean stop");
}

/// The code appears nowhere as a number of its own (timestamps and durations have six-digit
/// fractions, which are not it); and the log is the bot's whole TRACE log, serenity included.
fn assert_never_logged(log: &str, code: &str) {
    let leaks: Vec<&str> = log
        .lines()
        .filter(|line| stands_alone(line, code))
        .collect();
    assert!(
        leaks.is_empty(),
        "the code {code} is in the log:\n{leaks:#?}"
    );

    for expected in [
        // Our own events at DEBUG, inside the interaction span with its fields.
        "interaction handled",
        "settings email set",
        "settings email verify",
        // serenity's events got through (at INFO and above).
        "serenity::gateway",
    ] {
        assert!(
            log.contains(expected),
            "{expected:?} is not in the log:\n{log}"
        );
    }
}

/// Whether `code` is in `line` as a number of its own: not part of a longer one, nor the
/// fraction of a decimal.
fn stands_alone(line: &str, code: &str) -> bool {
    let bytes = line.as_bytes();
    line.match_indices(code).any(|(at, _)| {
        let end = at + code.len();
        let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
        let before_digit = at > 0 && digit(at - 1);
        let fraction = at > 1 && bytes[at - 1] == b'.' && digit(at - 2);
        !before_digit && !digit(end) && !fraction
    })
}

#[test]
fn a_code_standing_alone_is_found_and_timestamps_are_not_codes() {
    assert!(stands_alone(r#"value: String("482913")"#, "482913"));
    assert!(stands_alone("Your verification code is: 482913", "482913"));
    assert!(!stands_alone("2026-03-14T18:00:00.482913Z", "482913"));
    assert!(!stands_alone("elapsed=1.482913ms", "482913"));
    assert!(!stands_alone("user=930000482913000010", "482913"));
}
