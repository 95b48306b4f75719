//! The Discord side through the sync worker, against the fake Discord: real SQLite, real
//! serenity requests, a stepped clock. Failures, lost answers and archived threads included.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use masterclass_bot::discord::delivery::DiscordPacer;
use masterclass_bot::discord::sync::{SyncReport, SyncSettings, SyncWorker};
use masterclass_bot::domain::{Location, MasterclassId, UserId};
use masterclass_bot::service::{describe_sync, HostRequest, SyncProblem};
use serde_json::Value;

use crate::helpers::{self, member, mentor, request, TestApp, ANNOUNCEMENTS, GUILD, MENTOR};
use crate::notify::{new_worker, serenity_discord, step_all, test_settings, TestWorker};
use crate::support::fake_discord::{
    ChannelKind, FailRule, Failure, FakeDiscord, Fixture, GuildFixture, Method, Recorded,
};
use crate::support::smtp::TestSmtp;

const APP: u64 = 900_000_000_000_000_200;
const BOT: u64 = 900_000_000_000_000_201;
const VOICE: u64 = 800_000_000_000_000_090;
const GUEST_A: UserId = UserId(10_101);
const GUEST_B: UserId = UserId(10_102);

struct Sync {
    app: TestApp,
    fake: FakeDiscord,
    sync: SyncWorker,
    notify: TestWorker,
    _smtp: TestSmtp,
}

fn fixture() -> Fixture {
    let mut guild = GuildFixture::new(GUILD.0, "Mentors", helpers::ADMIN.0)
        .channel(ANNOUNCEMENTS.0, "masterclasses", ChannelKind::Text)
        .channel(VOICE, "Classroom", ChannelKind::Voice)
        .member(MENTOR.0, "grace", &[])
        .member(GUEST_A.0, "guest-a", &[])
        .member(GUEST_B.0, "guest-b", &[]);
    for n in 0..40 {
        guild = guild.member(10_000 + n, &format!("member-{n}"), &[]);
    }
    Fixture::new(APP, BOT).guild(guild)
}

impl Sync {
    async fn start() -> Sync {
        let app = helpers::spawn_service().await;
        let fake = FakeDiscord::start(fixture()).await;
        let smtp = TestSmtp::start();
        let notify = new_worker(&app, &fake, smtp.port(), test_settings());
        let discord = serenity_discord(&fake, DiscordPacer::new(10_000.0));
        let settings = SyncSettings {
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(4),
            ..SyncSettings::default()
        };
        let sync = SyncWorker::new(app.db.clone(), Arc::new(discord), settings);
        Sync {
            app,
            fake,
            sync,
            notify,
            _smtp: smtp,
        }
    }

    async fn host(&self, request: HostRequest) -> MasterclassId {
        self.app.host(request).await.masterclass.id
    }

    /// Steps the sync worker at `now` until nothing is due then.
    async fn sync_at(&self, now: DateTime<Utc>) -> SyncReport {
        self.sync.step_until_idle(now).await.expect("sync step")
    }

    /// Steps the sync worker over a minute from `from`, a second at a time, so backoffs and
    /// rate limits run out.
    async fn sync_for_a_minute(&self, from: DateTime<Utc>) -> DateTime<Utc> {
        let mut now = from;
        for _ in 0..60 {
            self.sync_at(now).await;
            now += chrono::Duration::seconds(1);
        }
        now
    }

    fn successful(&self, method: &str, route: &str) -> Vec<Recorded> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.is(method, route) && r.status < 300)
            .collect()
    }

    async fn ids(&self, id: MasterclassId) -> (u64, u64, u64) {
        let mc = self.app.service.masterclass_in(GUILD, id).await.unwrap();
        (
            mc.announcement_message_id.expect("announced"),
            mc.thread_id.expect("a thread").0,
            mc.event_id.expect("an event"),
        )
    }
}

fn announcements_of(fake: &FakeDiscord, id: MasterclassId) -> usize {
    let join = format!("mc:join:{id}");
    // Count the messages Discord holds, not requests: a lost answer still made one.
    fake.messages_in(ANNOUNCEMENTS.0)
        .iter()
        .filter(|m| m["components"].to_string().contains(&join))
        .count()
}

/// "Rust ownership" with `seats` seats.
fn with_seats(seats: u32) -> HostRequest {
    HostRequest {
        capacity: Some(seats.to_string()),
        ..request("Rust ownership")
    }
}

fn with_guests() -> HostRequest {
    HostRequest {
        guests: vec![(GUEST_A, false), (GUEST_B, false)],
        ..request("Rust ownership")
    }
}

#[tokio::test]
async fn failures_and_lost_answers_still_give_exactly_one_of_each() {
    let s = Sync::start().await;
    let channel_messages = format!("/channels/{}/messages", ANNOUNCEMENTS.0);
    let threads = format!("/channels/{}/threads", ANNOUNCEMENTS.0);
    let events = format!("/guilds/{}/scheduled-events", GUILD.0);
    let unavailable = Failure::Custom {
        status: 503,
        code: 0,
        message: "503: Service Unavailable".into(),
    };
    for (path, failures) in [
        (
            &channel_messages,
            [Failure::ServerError, Failure::LostResponse],
        ),
        (&threads, [unavailable.clone(), Failure::LostResponse]),
        (
            &events,
            [
                Failure::RateLimited { retry_after: 2.0 },
                Failure::LostResponse,
            ],
        ),
    ] {
        for failure in failures {
            s.fake.fail(FailRule::once(Method::POST, path, failure));
        }
    }
    let id = s.host(with_guests()).await;
    s.sync_for_a_minute(helpers::now()).await;

    assert_eq!(announcements_of(&s.fake, id), 1, "{}", s.fake.dump());
    let (message, thread, event) = s.ids(id).await;
    assert!(s.fake.message(message).is_some());
    assert_eq!(
        s.fake.threads_in(ANNOUNCEMENTS.0).len(),
        1,
        "one thread, though one answer was lost"
    );
    assert_eq!(
        s.fake.events().len(),
        1,
        "one event, though one answer was lost"
    );
    assert!(s.fake.scheduled_event(event).is_some());
    let mut members = s.fake.thread_members(thread);
    members.sort();
    let mut want = vec![BOT, MENTOR.0, GUEST_A.0, GUEST_B.0];
    want.sort();
    assert_eq!(members, want, "the host and the guests are in the thread");
    let problems = s
        .app
        .service
        .sync_problems(&helpers::admin(GUILD), 10)
        .await
        .unwrap();
    assert!(
        problems.is_empty(),
        "in step, nothing to report: {problems:?}"
    );

    // The guests' invitations waited for the thread and link it.
    let smtp_free_now = helpers::now() + chrono::Duration::minutes(2);
    step_all(&s.notify, smtp_free_now).await;
    for guest in [GUEST_A, GUEST_B] {
        let dm = format!("/channels/{}/messages", s.fake.dm_channel_id(guest.0));
        let sent = s.successful("POST", &dm);
        assert_eq!(sent.len(), 1, "one invitation for {guest}");
        let text = sent[0].body["content"].as_str().unwrap_or_default();
        assert!(
            text.contains(&thread.to_string()),
            "links the thread: {text}"
        );
    }
}

#[tokio::test]
async fn invitations_wait_for_the_thread() {
    let s = Sync::start().await;
    s.fake.fail(FailRule::always(
        Method::POST,
        &format!("/channels/{}/threads", ANNOUNCEMENTS.0),
        Failure::ServerError,
    ));
    s.host(with_guests()).await;
    s.sync_at(helpers::now()).await;
    let report = step_all(&s.notify, helpers::now()).await;
    assert_eq!(report.delivered, 0, "nothing goes before the thread exists");
    let dms: usize = [GUEST_A, GUEST_B]
        .iter()
        .map(|g| {
            s.successful(
                "POST",
                &format!("/channels/{}/messages", s.fake.dm_channel_id(g.0)),
            )
            .len()
        })
        .sum();
    assert_eq!(dms, 0);
    s.fake.clear_failures();
    let later = s.sync_for_a_minute(helpers::now()).await;
    step_all(&s.notify, later).await;
    for guest in [GUEST_A, GUEST_B] {
        let dm = format!("/channels/{}/messages", s.fake.dm_channel_id(guest.0));
        assert_eq!(s.successful("POST", &dm).len(), 1);
    }
}

#[tokio::test]
async fn an_auto_archived_thread_takes_joiners_and_loses_leavers() {
    let s = Sync::start().await;
    let id = s.host(with_seats(10)).await;
    let now = helpers::now();
    s.app.service.join(&member(1), id, now).await.unwrap();
    s.sync_at(now).await;
    let (_, thread, _) = s.ids(id).await;
    assert!(s.fake.thread_members(thread).contains(&10_001));

    // A quiet week: Discord archives the thread (no gateway here: the worker learns it from
    // Discord's refusal).
    s.fake.archive_thread(thread).await;
    let now = now + chrono::Duration::days(1);
    s.app.service.join(&member(2), id, now).await.unwrap();
    s.app.service.leave(&member(1), id, now).await.unwrap();
    s.sync_at(now).await;
    let members = s.fake.thread_members(thread);
    assert!(members.contains(&10_002), "the joiner is in: {members:?}");
    assert!(!members.contains(&10_001), "the leaver is out: {members:?}");
    let (archived, locked, _) = s.fake.thread_state(thread).unwrap();
    assert!(
        !archived && !locked,
        "open again while the masterclass is ahead"
    );
}

#[tokio::test]
async fn a_title_edit_renames_the_thread_the_announcement_and_the_event() {
    let s = Sync::start().await;
    let id = s.host(request("Rust ownership")).await;
    s.sync_at(helpers::now()).await;
    let (message, thread, event) = s.ids(id).await;
    let change = masterclass_bot::service::MasterclassEdit {
        title: Some("Rust lifetimes".into()),
        ..Default::default()
    };
    let now = helpers::now() + chrono::Duration::hours(1);
    s.app
        .service
        .edit(&mentor(GUILD), id, change, now)
        .await
        .unwrap();
    s.sync_at(now).await;
    assert_eq!(s.fake.thread_state(thread).unwrap().2, "Rust lifetimes");
    assert_eq!(
        s.fake.message(message).unwrap()["embeds"][0]["title"],
        "Rust lifetimes"
    );
    assert_eq!(
        s.fake.scheduled_event(event).unwrap()["name"],
        "Rust lifetimes"
    );
    // In step: another round sends nothing.
    let mark = s.fake.mark();
    s.app.service.join(&member(3), id, now).await.unwrap();
    s.sync_at(now).await;
    let sent: Vec<String> = s.fake.requests()[mark..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.route()))
        .collect();
    assert_eq!(
        sent,
        vec![
            format!("PATCH /channels/{}/messages/{message}", ANNOUNCEMENTS.0),
            format!("PUT /channels/{thread}/thread-members/10003"),
        ],
        "a join changes the counts and the members, nothing else"
    );
}

#[tokio::test]
async fn a_cancelled_thread_gets_every_post_before_it_is_locked() {
    let s = Sync::start().await;
    let id = s.host(with_seats(10)).await;
    let now = helpers::now();
    // Member 5 has DMs closed and no email: only the thread can tell them.
    s.app.service.join(&member(5), id, now).await.unwrap();
    s.sync_at(now).await;
    let (_, thread, event) = s.ids(id).await;
    s.fake.fail_dms_to(10_005);
    s.app
        .service
        .cancel(&mentor(GUILD), id, "I'm ill, sorry", now)
        .await
        .unwrap();

    // The sync worker comes first, and waits for the posts.
    s.sync_at(now).await;
    assert!(!s.fake.thread_state(thread).unwrap().0, "not archived yet");
    step_all(&s.notify, now).await;
    let later = now + chrono::Duration::seconds(5);
    s.sync_at(later).await;

    let posts = s.successful("POST", &format!("/channels/{thread}/messages"));
    let mention = posts
        .iter()
        .find(|p| {
            p.body["content"]
                .as_str()
                .unwrap_or("")
                .contains("<@10005>")
        })
        .unwrap_or_else(|| panic!("the member is mentioned in the thread\n{}", s.fake.dump()));
    let close = s
        .successful("PATCH", &format!("/channels/{thread}"))
        .into_iter()
        .find(|r| r.body["locked"] == true)
        .expect("the thread is closed");
    assert!(mention.seq < close.seq, "the mention lands before the lock");
    assert!(posts.iter().all(|p| p.seq < close.seq));
    assert_eq!(
        s.fake.thread_state(thread).unwrap(),
        (true, true, "Rust ownership".into())
    );
    assert_eq!(s.fake.scheduled_event(event).unwrap()["status"], 4);
}

#[tokio::test]
async fn a_voice_masterclass_event_is_started_and_ended_by_the_bot() {
    let s = Sync::start().await;
    let id = s
        .host(HostRequest {
            location: Some(Location::Channel(masterclass_bot::domain::ChannelId(VOICE))),
            ..request("Rust ownership")
        })
        .await;
    s.sync_at(helpers::now()).await;
    let (_, _, event) = s.ids(id).await;
    let status = |s: &Sync| s.fake.scheduled_event(event).unwrap()["status"].clone();
    assert_eq!(s.fake.scheduled_event(event).unwrap()["entity_type"], 2);
    assert_eq!(status(&s), 1);

    let mc = s.app.service.masterclass_in(GUILD, id).await.unwrap();
    let start = mc.starts_at;
    // Discord's own automation runs too: it must find nothing to cancel.
    for minutes in [-1, 0, 1] {
        let now = start + chrono::Duration::minutes(minutes);
        s.fake.run_event_automation(now);
        s.sync_at(now).await;
    }
    assert_eq!(status(&s), 2, "ACTIVE at the start");
    let end = mc.starts_at + chrono::Duration::minutes(90);
    for minutes in [0, 1] {
        let now = end + chrono::Duration::minutes(minutes);
        s.sync_at(now).await;
        s.fake.run_event_automation(now);
    }
    assert_eq!(status(&s), 3, "COMPLETED at the end");
    s.fake
        .run_event_automation(end + chrono::Duration::hours(6));
    assert_eq!(status(&s), 3, "Discord never cancelled it");
}

#[tokio::test]
async fn an_external_event_is_left_to_discord_after_its_start() {
    let s = Sync::start().await;
    let id = s.host(request("Rust ownership")).await;
    s.sync_at(helpers::now()).await;
    let (_, _, event) = s.ids(id).await;
    let mc = s.app.service.masterclass_in(GUILD, id).await.unwrap();
    let mark = s.fake.mark();
    for minutes in [0, 45, 90, 91, 600] {
        let now = mc.starts_at + chrono::Duration::minutes(minutes);
        s.fake.run_event_automation(now);
        s.sync_at(now).await;
    }
    assert_eq!(s.fake.scheduled_event(event).unwrap()["status"], 3);
    let touched = s.fake.requests()[mark..]
        .iter()
        .any(|r| r.route().contains("scheduled-events"));
    assert!(
        !touched,
        "the bot never edits an external event after its start"
    );
}

#[tokio::test]
async fn thirty_joins_through_failing_routes_converge() {
    let s = Sync::start().await;
    let id = s.host(with_seats(20)).await;
    let now = helpers::now();
    s.sync_at(now).await;
    let (message, thread, _) = s.ids(id).await;
    for _ in 0..4 {
        s.fake.fail(FailRule::once(
            Method::PUT,
            "/thread-members/",
            Failure::ServerError,
        ));
        s.fake.fail(FailRule::once(
            Method::PATCH,
            &format!("/messages/{message}"),
            Failure::ServerError,
        ));
    }
    let joins = (0..30).map(|n| {
        let service = s.app.service.clone();
        async move { service.join(&member(n), id, now).await.unwrap() }
    });
    futures::future::join_all(joins).await;
    s.sync_for_a_minute(now).await;

    let mut members = s.fake.thread_members(thread);
    members.sort();
    let everyone = s
        .app
        .service
        .participants(&mentor(GUILD), id)
        .await
        .unwrap();
    let mut want: Vec<u64> = everyone.attending.iter().map(|u| u.0).collect();
    want.extend([BOT, MENTOR.0]);
    want.sort();
    assert_eq!(members, want, "thread members = host + attendees");
    let shown = s.fake.message(message).unwrap();
    assert_eq!(field(&shown, "Seats"), "20/20");
    assert_eq!(field(&shown, "Waitlist"), "10");
}

fn field(message: &Value, name: &str) -> String {
    message["embeds"][0]["fields"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"] == name))
        .and_then(|f| f["value"].as_str())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_restart_resumes_a_sync_that_was_claimed() {
    let s = Sync::start().await;
    let id = s.host(request("Rust ownership")).await;
    // A worker claimed it and died: its lease would hold the masterclass for minutes.
    let now = helpers::now();
    let claimed = s
        .app
        .db
        .write(move |conn| {
            Box::pin(async move {
                masterclass_bot::store::sync::claim_due(conn, now, chrono::Duration::hours(1), 10)
                    .await
            })
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        s.sync.step(now).await.unwrap().claimed,
        0,
        "held by the claim"
    );
    let discord = serenity_discord(&s.fake, DiscordPacer::new(10_000.0));
    let restarted = SyncWorker::new(s.app.db.clone(), Arc::new(discord), SyncSettings::default());
    assert_eq!(restarted.resume_after_restart().await.unwrap(), 1);
    restarted.step_until_idle(now).await.unwrap();
    assert_eq!(announcements_of(&s.fake, id), 1);
    s.ids(id).await;
}

#[tokio::test]
async fn a_thread_is_archived_not_locked_a_day_after_the_end() {
    let s = Sync::start().await;
    let id = s.host(request("Rust ownership")).await;
    s.sync_at(helpers::now()).await;
    let (_, thread, _) = s.ids(id).await;
    let mc = s.app.service.masterclass_in(GUILD, id).await.unwrap();
    let end = mc.starts_at + chrono::Duration::minutes(90);
    s.sync_at(end + chrono::Duration::hours(23)).await;
    assert!(!s.fake.thread_state(thread).unwrap().0, "open for a day");
    s.sync_at(end + chrono::Duration::hours(24)).await;
    let (archived, locked, _) = s.fake.thread_state(thread).unwrap();
    assert!(
        archived && !locked,
        "archived, and anyone posting reopens it"
    );
}

#[tokio::test]
async fn the_thread_opens_with_what_when_where_and_who_once() {
    let s = Sync::start().await;
    let id = s.host(request("Rust ownership")).await;
    s.sync_at(helpers::now()).await;
    let (_, thread, _) = s.ids(id).await;
    let intro = s.fake.messages_in(thread);
    assert_eq!(intro.len(), 1, "{intro:?}");
    let text = intro[0]["content"].as_str().unwrap();
    for part in [
        "Rust ownership",
        "<t:",
        "Where:",
        &format!("<@{MENTOR}>"),
        "Leave",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    let posted = s.successful("POST", &format!("/channels/{thread}/messages"));
    assert_eq!(
        posted[0].body["allowed_mentions"]["parse"],
        serde_json::json!([])
    );
    // A crash between posting it and recording it: the next pass finds it, posts no second.
    s.app
        .db
        .write(move |conn| {
            Box::pin(async move {
                sqlx::query("UPDATE discord_sync SET intro_posted = 0 WHERE masterclass_id = ?")
                    .bind(id.0)
                    .execute(conn)
                    .await
                    .map(drop)
            })
        })
        .await
        .unwrap();
    s.app
        .service
        .join(&member(1), id, helpers::now())
        .await
        .unwrap();
    s.sync_at(helpers::now()).await;
    assert_eq!(s.fake.messages_in(thread).len(), 1);
    assert!(s.fake.thread_members(thread).contains(&10_001));
}

/// The one masterclass `/masterclass-admin deliveries` lists for its Discord side.
async fn sync_problem(s: &Sync, id: MasterclassId) -> SyncProblem {
    let problems = s
        .app
        .service
        .sync_problems(&helpers::admin(GUILD), 10)
        .await
        .unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].masterclass_id, id);
    problems[0].clone()
}

#[tokio::test]
async fn a_route_rate_limited_for_ever_is_given_up_after_the_budget_without_counting_attempts() {
    let s = Sync::start().await;
    let route = format!("/channels/{}/messages", ANNOUNCEMENTS.0);
    let limited = Failure::RateLimited {
        retry_after: 3600.0,
    };
    s.fake.fail(FailRule::always(Method::POST, &route, limited));
    let id = s.host(request("Rust ownership")).await;
    let budget = chrono::Duration::hours(48); // `SyncSettings::default().give_up_after`

    // One look an hour, as Discord asks; none counts as an attempt.
    let start = helpers::now();
    let (mut at, mut looks) = (start, 0);
    let given_up = loop {
        s.sync.step(at).await.unwrap();
        looks += 1;
        let problem = sync_problem(&s, id).await;
        if problem.failed_at.is_some() {
            break problem;
        }
        assert!(
            looks <= 48,
            "still waiting after {looks} looks: {problem:?}"
        );
        assert_eq!(
            problem.attempts, 0,
            "a rate limit is no attempt: {problem:?}"
        );
        assert_eq!(problem.failing_since, Some(start), "{problem:?}");
        let next = problem.next_attempt_at.expect("a next try");
        assert_eq!(
            next,
            at + chrono::Duration::hours(1),
            "Retry-After is an hour"
        );
        assert!(
            problem.last_error.starts_with("rate limited by Discord"),
            "{problem:?}"
        );
        if looks == 2 {
            let line = describe_sync(&problem);
            let state = format!(
                "not in step · failing since <t:{}:R> · next try <t:{}:R> · rate limited by Discord",
                start.timestamp(),
                next.timestamp()
            );
            assert!(line.contains(&state), "{line}");
        }
        at = next;
    };

    let deadline = start + budget;
    assert_eq!(
        (
            given_up.failed_at,
            given_up.next_attempt_at,
            given_up.attempts
        ),
        (Some(deadline), None, 0),
        "given up when the budget ran out, no attempt counted: {given_up:?}"
    );
    assert_eq!(looks, 49, "one an hour from 0 to 48 hours");
    let line = describe_sync(&given_up);
    let want = format!(
        "**Rust ownership** (masterclass {id}): announcement, thread or event not in step · gave up <t:{}:R> · gave up after 48 hours: rate limited by Discord for 3600s",
        deadline.timestamp()
    );
    assert_eq!(line, want);
    let statuses: Vec<u16> = s
        .fake
        .requests()
        .iter()
        .filter(|r| r.is("POST", &route))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![429; looks]);
    assert_eq!(
        s.sync_at(deadline + chrono::Duration::hours(2))
            .await
            .claimed,
        0,
        "nothing more is tried"
    );

    // A change re-arms it with a new budget, from its next failure; Discord answering again
    // brings it in step.
    let later = deadline + chrono::Duration::hours(3);
    s.app.service.join(&member(1), id, later).await.unwrap();
    assert_eq!(s.sync.step(later).await.unwrap().retried, 1);
    let retried = sync_problem(&s, id).await;
    assert_eq!(
        (retried.failed_at, retried.failing_since, retried.attempts),
        (None, Some(later), 0),
        "{retried:?}"
    );
    s.fake.clear_failures();
    s.sync_at(later + chrono::Duration::hours(1)).await;
    assert_eq!(announcements_of(&s.fake, id), 1);
    let problems = s
        .app
        .service
        .sync_problems(&helpers::admin(GUILD), 10)
        .await
        .unwrap();
    assert!(problems.is_empty(), "in step: {problems:?}");
}

#[tokio::test]
async fn a_route_failing_for_ever_is_given_up_after_max_attempts() {
    let s = Sync::start().await;
    let route = format!("/channels/{}/messages", ANNOUNCEMENTS.0);
    s.fake
        .fail(FailRule::always(Method::POST, &route, Failure::ServerError));
    let id = s.host(request("Rust ownership")).await;

    // Backoffs of at most 4 seconds here: eight attempts fit in a minute, far within the budget.
    s.sync_for_a_minute(helpers::now()).await;

    let given_up = sync_problem(&s, id).await;
    assert_eq!(given_up.attempts, 8, "{given_up:?}");
    assert!(given_up.failed_at.is_some(), "{given_up:?}");
    assert!(
        given_up
            .last_error
            .starts_with("gave up after 8 attempts: "),
        "{given_up:?}"
    );
    let posts = s
        .fake
        .requests()
        .iter()
        .filter(|r| r.is("POST", &route))
        .count();
    assert_eq!(posts, 8);
}
