use crate::helpers::*;
use chrono::Duration;
use masterclass_bot::domain::{Channel, NoticeKind, UserError, UserId};
use masterclass_bot::service::{Error, GuildSettingsChange};

fn refusal<T: std::fmt::Debug>(result: Result<T, Error>) -> UserError {
    match result {
        Err(Error::User(e)) => e,
        other => panic!("expected a user error, got {other:?}"),
    }
}

#[tokio::test]
async fn servers_start_disabled_with_documented_defaults() {
    let app = spawn_service().await;
    let s = app.service.guild_settings(GUILD).await.unwrap();
    assert!(!s.enabled);
    assert_eq!(s.default_capacity.get(), 40);
    assert_eq!(s.reminder_offsets.minutes(), &[1440, 15]);
    assert_eq!(s.time_zone.name(), "UTC");
}

#[tokio::test]
async fn only_admins_change_server_settings() {
    let app = spawn_service().await;
    let change = GuildSettingsChange {
        enabled: Some(true),
        ..Default::default()
    };
    assert_eq!(
        refusal(
            app.service
                .update_guild_settings(&mentor(GUILD), change.clone(), now())
                .await
        ),
        UserError::NotAdmin
    );
    let change = GuildSettingsChange {
        reminder_offsets: Some("2h, 10m".into()),
        time_zone: Some("Europe/Paris".into()),
        default_capacity: Some(12),
        ..change
    };
    let s = app
        .service
        .update_guild_settings(&admin(GUILD), change, now())
        .await
        .unwrap();
    assert_eq!(s.reminder_offsets.minutes(), &[120, 10]);
    assert_eq!(
        app.service.guild_settings(GUILD).await.unwrap(),
        s,
        "saved as shown"
    );
    assert!(
        !app.service
            .guild_settings(OTHER_GUILD)
            .await
            .unwrap()
            .enabled,
        "per server"
    );
}

#[tokio::test]
async fn the_start_is_read_in_the_option_zone_else_the_members_else_the_servers() {
    let app = spawn_service().await;
    app.enable(GUILD).await;
    let host = mentor(GUILD);
    let start = |zone: Option<&str>| {
        let mut req = request("Zones");
        req.time_zone = zone.map(Into::into);
        req
    };
    let utc = app
        .service
        .prepare_host(&host, start(None), now())
        .await
        .unwrap();
    assert_eq!(utc.start.get().to_rfc3339(), "2026-03-14T18:00:00+00:00");
    app.service
        .set_member_time_zone(MENTOR, "America/New_York", now())
        .await
        .unwrap();
    let ny = app
        .service
        .prepare_host(&host, start(None), now())
        .await
        .unwrap();
    assert_eq!(ny.start.get().to_rfc3339(), "2026-03-14T22:00:00+00:00");
    let tokyo = app
        .service
        .prepare_host(&host, start(Some("Asia/Tokyo")), now())
        .await
        .unwrap();
    assert_eq!(tokyo.start.get().to_rfc3339(), "2026-03-14T09:00:00+00:00");
    assert_eq!(tokyo.time_zone.name(), "Asia/Tokyo");
}

#[tokio::test]
async fn email_verification_keeps_only_a_hash_and_limits_tries() {
    let app = spawn_service().await;
    let user = UserId(42);
    app.service
        .request_email_code(GUILD, user, "ada@example.org", now())
        .await
        .unwrap();
    let sent = app
        .outbox()
        .await
        .into_iter()
        .find(|n| n.kind == NoticeKind::VerificationCode)
        .unwrap();
    assert_eq!(
        (sent.channel, sent.recipient_id),
        (Channel::Email, Some(user))
    );
    assert_eq!(sent.payload["email"], "ada@example.org");
    let code = sent.payload["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    assert!(app
        .dump()
        .await
        .iter()
        .filter(|row| row.starts_with("member_settings"))
        .all(|row| !row.contains(&code)));

    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        refusal(app.service.verify_email(user, wrong, now()).await),
        UserError::WrongCode { remaining: 4 }
    );
    let member = app.service.verify_email(user, &code, now()).await.unwrap();
    assert_eq!(member.email.unwrap().as_str(), "ada@example.org");
    assert!(member.pending_email.is_none());
    assert_eq!(
        refusal(app.service.verify_email(user, &code, now()).await),
        UserError::NoPendingEmail
    );
}

#[tokio::test]
async fn codes_expire_after_30_minutes() {
    let app = spawn_service().await;
    let user = UserId(42);
    app.service
        .request_email_code(GUILD, user, "ada@example.org", now())
        .await
        .unwrap();
    let code = app.outbox().await[0].payload["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let late = now() + Duration::minutes(31);
    assert_eq!(
        refusal(app.service.verify_email(user, &code, late).await),
        UserError::CodeExpired
    );
    assert!(app
        .service
        .member_settings(user)
        .await
        .unwrap()
        .email
        .is_none());
}

#[tokio::test]
async fn five_wrong_codes_lock_the_code() {
    let app = spawn_service().await;
    let user = UserId(42);
    app.service
        .request_email_code(GUILD, user, "ada@example.org", now())
        .await
        .unwrap();
    let code = app.outbox().await[0].payload["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for remaining in (1..=4).rev() {
        assert_eq!(
            refusal(app.service.verify_email(user, wrong, now()).await),
            UserError::WrongCode { remaining }
        );
    }
    assert_eq!(
        refusal(app.service.verify_email(user, wrong, now()).await),
        UserError::TooManyWrongCodes
    );
    assert_eq!(
        refusal(app.service.verify_email(user, &code, now()).await),
        UserError::TooManyWrongCodes,
        "even the right code"
    );
}

#[tokio::test]
async fn at_most_three_codes_an_hour() {
    let app = spawn_service().await;
    let user = UserId(42);
    for minute in 0..3 {
        app.service
            .request_email_code(
                GUILD,
                user,
                "ada@example.org",
                now() + Duration::minutes(minute),
            )
            .await
            .unwrap();
    }
    let fourth = app
        .service
        .request_email_code(
            GUILD,
            user,
            "ada@example.org",
            now() + Duration::minutes(10),
        )
        .await;
    assert_eq!(refusal(fourth), UserError::TooManyCodes);
    let next_hour = now() + Duration::minutes(61);
    app.service
        .request_email_code(GUILD, user, "ada@example.org", next_hour)
        .await
        .unwrap();
}

#[tokio::test]
async fn notification_preferences_are_saved() {
    let app = spawn_service().await;
    let s = app
        .service
        .set_notifications(UserId(42), Some(false), None, now())
        .await
        .unwrap();
    assert!(!s.dm_enabled && s.email_enabled);
    let s = app.service.member_settings(UserId(42)).await.unwrap();
    assert!(!s.dm_enabled && s.email_enabled);
}
