//! Every refusal is specific and changes nothing: a dump of every table is compared.

use crate::helpers::*;
use masterclass_bot::domain::{Caller, GuildId, Location, MasterclassId, UserError, UserId};
use masterclass_bot::service::{Error, GuildSettingsChange, HostRequest, MasterclassEdit, Service};

enum Op {
    Prepare(Caller, HostRequest),
    Join(Caller, MasterclassId),
    Leave(Caller, MasterclassId),
    Cancel(Caller, MasterclassId, String),
    Edit(Caller, MasterclassId, MasterclassEdit),
    /// A link typed as the new place: read as the adapter reads it, then the edit.
    EditLink(Caller, MasterclassId, String),
    Remove(Caller, MasterclassId, UserId),
    Settings(Caller, GuildSettingsChange),
    Zone(UserId, String),
    Notifications(UserId),
    EmailSet(UserId, String),
    Verify(UserId, String),
}

async fn run(service: &Service, op: Op) -> Result<(), Error> {
    let t = now();
    match op {
        Op::Prepare(c, req) => service.prepare_host(&c, req, t).await.map(drop),
        Op::Join(c, id) => service.join(&c, id, t).await.map(drop),
        Op::Leave(c, id) => service.leave(&c, id, t).await.map(drop),
        Op::Cancel(c, id, reason) => service.cancel(&c, id, &reason, t).await.map(drop),
        Op::Edit(c, id, edit) => service.edit(&c, id, edit, t).await.map(drop),
        Op::EditLink(c, id, link) => {
            let location = Some(Location::url(&link)?);
            let edit = MasterclassEdit {
                location,
                ..Default::default()
            };
            service.edit(&c, id, edit, t).await.map(drop)
        }
        Op::Remove(c, id, user) => service.remove_participant(&c, id, user, t).await.map(drop),
        Op::Settings(c, change) => service.update_guild_settings(&c, change, t).await.map(drop),
        Op::Zone(user, zone) => service.set_member_time_zone(user, &zone, t).await.map(drop),
        Op::Notifications(user) => service
            .set_notifications(user, None, None, t)
            .await
            .map(drop),
        Op::EmailSet(user, email) => service
            .request_email_code(GUILD, user, &email, t)
            .await
            .map(drop),
        Op::Verify(user, code) => service.verify_email(user, &code, t).await.map(drop),
    }
}

fn with(change: impl FnOnce(&mut HostRequest)) -> HostRequest {
    let mut req = request("Valid title");
    change(&mut req);
    req
}

fn edit(change: impl FnOnce(&mut MasterclassEdit)) -> MasterclassEdit {
    let mut e = MasterclassEdit::default();
    change(&mut e);
    e
}

fn settings(change: impl FnOnce(&mut GuildSettingsChange)) -> GuildSettingsChange {
    let mut c = GuildSettingsChange::default();
    change(&mut c);
    c
}

fn too_long(field: &'static str, len: usize, max: usize) -> UserError {
    UserError::TooLong { field, len, max }
}

#[tokio::test]
async fn bad_input_gets_its_own_refusal_and_changes_nothing() {
    let app = spawn_service().await;
    let id = app.host_default().await; // capacity 2
    for m in 1..=3 {
        app.service.join(&member(m), id, now()).await.unwrap(); // 1, 2 attend; 3 waits
    }
    // A server that switched masterclasses on but chose no host role.
    let half_set = GuildId(77);
    app.service
        .update_guild_settings(
            &admin(half_set),
            settings(|s| s.enabled = Some(true)),
            now(),
        )
        .await
        .unwrap();

    let host = mentor(GUILD);
    let stranger = caller(OTHER_GUILD, UserId(10_001));
    let unknown = MasterclassId(999_999);
    let guests = |ids: &[u64]| {
        ids.iter()
            .map(|&id| (UserId(id), false))
            .collect::<Vec<_>>()
    };
    use Op::*;
    use UserError::*;
    let cases: Vec<(&str, Op, UserError)> = vec![
        (
            "empty title",
            Prepare(host.clone(), with(|r| r.title = "".into())),
            Empty { field: "title" },
        ),
        (
            "blank title",
            Prepare(host.clone(), with(|r| r.title = " \t ".into())),
            Empty { field: "title" },
        ),
        (
            "zero-width title",
            Prepare(
                host.clone(),
                with(|r| r.title = "\u{200B}\u{2060}\u{FEFF}".into()),
            ),
            Empty { field: "title" },
        ),
        (
            "101-char title",
            Prepare(host.clone(), with(|r| r.title = "x".repeat(101))),
            too_long("title", 101, 100),
        ),
        (
            "line break in title",
            Prepare(host.clone(), with(|r| r.title = "two\nlines".into())),
            ControlCharacters { field: "title" },
        ),
        (
            "NUL in title",
            Prepare(host.clone(), with(|r| r.title = "a\0b".into())),
            ControlCharacters { field: "title" },
        ),
        (
            "bidi override in title",
            Prepare(host.clone(), with(|r| r.title = "abc\u{202E}cba".into())),
            ControlCharacters { field: "title" },
        ),
        (
            "empty description",
            Prepare(host.clone(), with(|r| r.description = "".into())),
            Empty {
                field: "description",
            },
        ),
        (
            "zero-width description",
            Prepare(
                host.clone(),
                with(|r| r.description = "\u{200B}\n\u{200C}".into()),
            ),
            Empty {
                field: "description",
            },
        ),
        (
            "1001-char description",
            Prepare(host.clone(), with(|r| r.description = "é".repeat(1001))),
            too_long("description", 1001, 1000),
        ),
        (
            "bell in description",
            Prepare(host.clone(), with(|r| r.description = "ding\u{7}".into())),
            ControlCharacters {
                field: "description",
            },
        ),
        (
            "past start",
            Prepare(host.clone(), with(|r| r.start = "2026-03-01 10:00".into())),
            StartInPast,
        ),
        (
            "start right now",
            Prepare(host.clone(), with(|r| r.start = "2026-03-10 12:00".into())),
            StartInPast,
        ),
        (
            "far-future start",
            Prepare(host.clone(), with(|r| r.start = "2028-01-01 10:00".into())),
            StartTooFar,
        ),
        (
            "unreadable start",
            Prepare(host.clone(), with(|r| r.start = "whenever you like".into())),
            UnreadableStart("whenever you like".into()),
        ),
        (
            "empty start",
            Prepare(host.clone(), with(|r| r.start = "".into())),
            UnreadableStart("".into()),
        ),
        (
            "start in a DST gap",
            Prepare(
                host.clone(),
                with(|r| {
                    r.start = "2026-03-29 02:30".into();
                    r.time_zone = Some("Europe/Paris".into())
                }),
            ),
            SkippedStart {
                time: "02:30".into(),
                date: "29 March".into(),
                zone: "Europe/Paris".into(),
                from: "02:00".into(),
                to: "03:00".into(),
            },
        ),
        (
            "unknown zone",
            Prepare(
                host.clone(),
                with(|r| r.time_zone = Some("Mars/Olympus".into())),
            ),
            UnknownTimeZone("Mars/Olympus".into()),
        ),
        (
            "misspelt zone",
            Prepare(
                host.clone(),
                with(|r| r.time_zone = Some("Europe/Pariss".into())),
            ),
            UnknownTimeZone("Europe/Pariss".into()),
        ),
        (
            "10-minute duration",
            Prepare(
                host.clone(),
                with(|r| r.duration_minutes = Some("10".into())),
            ),
            DurationOutOfRange,
        ),
        (
            "481-minute duration",
            Prepare(
                host.clone(),
                with(|r| r.duration_minutes = Some("481".into())),
            ),
            DurationOutOfRange,
        ),
        (
            "duration in words",
            Prepare(
                host.clone(),
                with(|r| r.duration_minutes = Some("an hour".into())),
            ),
            DurationOutOfRange,
        ),
        (
            "negative duration",
            Prepare(
                host.clone(),
                with(|r| r.duration_minutes = Some("-60".into())),
            ),
            DurationOutOfRange,
        ),
        (
            "zero capacity",
            Prepare(host.clone(), with(|r| r.capacity = Some("0".into()))),
            CapacityOutOfRange,
        ),
        (
            "capacity 1001",
            Prepare(host.clone(), with(|r| r.capacity = Some("1001".into()))),
            CapacityOutOfRange,
        ),
        (
            "capacity in words",
            Prepare(host.clone(), with(|r| r.capacity = Some("lots".into()))),
            CapacityOutOfRange,
        ),
        (
            "host as guest",
            Prepare(host.clone(), with(|r| r.guests = guests(&[MENTOR.0]))),
            HostAsGuest,
        ),
        (
            "duplicate guest",
            Prepare(host.clone(), with(|r| r.guests = guests(&[5, 6, 5]))),
            DuplicateGuest,
        ),
        (
            "26 guests",
            Prepare(
                host.clone(),
                with(|r| r.guests = guests(&(100..126).collect::<Vec<_>>())),
            ),
            TooManyGuests,
        ),
        (
            "bot as guest",
            Prepare(host.clone(), with(|r| r.guests = vec![(UserId(5), true)])),
            BotAsGuest,
        ),
        (
            "disabled server",
            Prepare(mentor(OTHER_GUILD), request("Nope")),
            NotEnabled,
        ),
        (
            "member without the host role",
            Prepare(member(1), request("Nope")),
            NotHostRole,
        ),
        (
            "server without a host role",
            Prepare(mentor(half_set), request("Nope")),
            NoHostRole,
        ),
        ("join an unknown id", Join(member(9), unknown), NotFound),
        (
            "join another server's masterclass",
            Join(stranger.clone(), id),
            NotFound,
        ),
        (
            "join one's own masterclass",
            Join(host.clone(), id),
            OwnMasterclass,
        ),
        ("join twice", Join(member(1), id), AlreadyAttending),
        (
            "join the waitlist twice",
            Join(member(3), id),
            AlreadyWaitlisted { position: 1 },
        ),
        (
            "leave without joining",
            Leave(member(9), id),
            NotParticipant,
        ),
        ("leave an unknown id", Leave(member(1), unknown), NotFound),
        (
            "leave another server's masterclass",
            Leave(stranger.clone(), id),
            NotFound,
        ),
        (
            "cancel by a member",
            Cancel(member(1), id, "no".into()),
            NotHostOrAdmin,
        ),
        (
            "cancel by another server's admin",
            Cancel(admin(OTHER_GUILD), id, "mine".into()),
            NotFound,
        ),
        (
            "cancel without a reason",
            Cancel(host.clone(), id, "  ".into()),
            Empty { field: "reason" },
        ),
        (
            "cancel with a zero-width reason",
            Cancel(host.clone(), id, "\u{200B}".into()),
            Empty { field: "reason" },
        ),
        (
            "cancel with a 501-char reason",
            Cancel(host.clone(), id, "r".repeat(501)),
            too_long("reason", 501, 500),
        ),
        (
            "edit the start",
            Edit(
                host.clone(),
                id,
                edit(|e| e.start = Some("2026-03-15 18:00".into())),
            ),
            TimeIsImmutable,
        ),
        (
            "edit the duration",
            Edit(host.clone(), id, edit(|e| e.duration_minutes = Some(30))),
            TimeIsImmutable,
        ),
        (
            "edit nothing",
            Edit(host.clone(), id, MasterclassEdit::default()),
            NothingToChange,
        ),
        (
            "capacity below attendees",
            Edit(host.clone(), id, edit(|e| e.capacity = Some(1))),
            CapacityBelowAttendees { attending: 2 },
        ),
        (
            "edit capacity to 0",
            Edit(host.clone(), id, edit(|e| e.capacity = Some(0))),
            CapacityOutOfRange,
        ),
        (
            "edit to an empty title",
            Edit(
                host.clone(),
                id,
                edit(|e| e.title = Some("\u{200B}".into())),
            ),
            Empty { field: "title" },
        ),
        (
            "edit by a member",
            Edit(member(1), id, edit(|e| e.title = Some("Mine".into()))),
            NotHostOrAdmin,
        ),
        (
            "edit another server's masterclass",
            Edit(
                admin(OTHER_GUILD),
                id,
                edit(|e| e.title = Some("Mine".into())),
            ),
            NotFound,
        ),
        (
            "a link too long for the event's place",
            EditLink(
                host.clone(),
                id,
                format!("https://meet.example.org/{}", "a".repeat(76)),
            ),
            LinkTooLong { len: 101 },
        ),
        (
            "remove a non-participant",
            Remove(host.clone(), id, UserId(4242)),
            MemberNotParticipant,
        ),
        (
            "remove by a member",
            Remove(member(2), id, member(1).user_id),
            NotHostOrAdmin,
        ),
        (
            "settings by a non-admin",
            Settings(host.clone(), settings(|s| s.enabled = Some(false))),
            NotAdmin,
        ),
        (
            "bad reminder offsets",
            Settings(
                admin(GUILD),
                settings(|s| s.reminder_offsets = Some("15 parsecs".into())),
            ),
            BadReminderOffsets,
        ),
        (
            "too many reminder offsets",
            Settings(
                admin(GUILD),
                settings(|s| s.reminder_offsets = Some("1h,2h,3h,4h,5h,6h".into())),
            ),
            BadReminderOffsets,
        ),
        (
            "default capacity 0",
            Settings(admin(GUILD), settings(|s| s.default_capacity = Some(0))),
            CapacityOutOfRange,
        ),
        (
            "unknown server zone",
            Settings(
                admin(GUILD),
                settings(|s| s.time_zone = Some("Nowhere/City".into())),
            ),
            UnknownTimeZone("Nowhere/City".into()),
        ),
        (
            "over-long support text",
            Settings(
                admin(GUILD),
                settings(|s| s.support_text = Some("s".repeat(1001))),
            ),
            too_long("support text", 1001, 1000),
        ),
        (
            "unknown member zone",
            Zone(UserId(42), "Atlantis/Capital".into()),
            UnknownTimeZone("Atlantis/Capital".into()),
        ),
        (
            "notifications without a choice",
            Notifications(UserId(42)),
            NothingToChange,
        ),
        (
            "not an email",
            EmailSet(UserId(42), "not-an-email".into()),
            BadEmail("not-an-email".into()),
        ),
        (
            "email without a domain dot",
            EmailSet(UserId(42), "ada@localhost".into()),
            BadEmail("ada@localhost".into()),
        ),
        (
            "verify without a pending email",
            Verify(UserId(42), "123456".into()),
            NoPendingEmail,
        ),
    ];
    assert!(cases.len() >= 40);

    for (what, op, expected) in cases {
        let before = app.dump().await;
        match run(&app.service, op).await {
            Err(Error::User(got)) => assert_eq!(got, expected, "{what}"),
            other => panic!("{what}: expected {expected:?}, got {other:?}"),
        }
        assert_eq!(app.dump().await, before, "{what} changed the database");
    }
}

#[tokio::test]
async fn a_preview_saved_after_its_start_passed_is_refused() {
    let app = spawn_service().await;
    app.enable(GUILD).await;
    let new = app
        .service
        .prepare_host(&mentor(GUILD), request("Stale"), now())
        .await
        .unwrap();
    let before = app.dump().await;
    let late = new.start.get() + chrono::Duration::minutes(1);
    match app.service.host(&mentor(GUILD), new, late).await {
        Err(Error::User(e)) => assert_eq!(e, UserError::StartInPast),
        other => panic!("expected StartInPast, got {other:?}"),
    }
    assert_eq!(app.dump().await, before);
}
