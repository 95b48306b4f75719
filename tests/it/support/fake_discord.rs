//! A fake Discord for integration tests: REST over HTTP (axum) and the gateway over WebSocket
//! (tokio-tungstenite), both on 127.0.0.1, so a real serenity `Client` + poise framework can run
//! against it. Payload shapes follow Discord's published docs/OpenAPI and what serenity 0.12.5
//! needs to deserialize them (e.g. `Role.colors`, `attachment_size_limit` are required there).
//!
//! Point the bot at it with
//! `HttpBuilder::new(token).proxy(fake.base_url()).ratelimiter_disabled(true).build()`
//! (serenity's ratelimiter ignores the proxy, so it must be disabled).
//!
//! ```ignore
//! let fake = FakeDiscord::start(Fixture::new(APP, BOT).guild(
//!     GuildFixture::new(GUILD, "Mentors", ALICE)
//!         .channel(GENERAL, "general", ChannelKind::Text)
//!         .admin(ALICE, "alice")
//!         .member(BOB, "bob", &[MENTOR_ROLE]),
//! )).await;
//! // ... start the bot, then:
//! fake.wait_until_ready(T).await;
//! let opts = json!([{"name": "mentor", "type": 6, "value": BOB.to_string()}]);
//! let h = fake.interact(fake.slash_command(GENERAL, ALICE, "masterclass", Some("host"), opts)).await;
//! assert_eq!(h.callback(T).await.body["type"], 4);
//! ```
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
pub use axum::http::Method;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use serenity::all::Permissions;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// First id handed out by the fake; fixture ids should stay below it.
const FIRST_ID: u64 = 1_100_000_000_000_000_000;
const HEARTBEAT_MS: u64 = 41_250;
const TS: &str = "2024-01-01T00:00:00.000000+00:00";
/// Discord drops an interaction not answered within 3 s (`set_interaction_deadline`).
const INTERACTION_DEADLINE: Duration = Duration::from_secs(3);
/// Discord cancels a scheduled event still SCHEDULED this long after its start.
const EVENT_CANCEL_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(3);
/// Scheduled events per guild that may be SCHEDULED or ACTIVE at once.
const MAX_ACTIVE_EVENTS: usize = 100;

// ----------------------------------------------------------------------------------------------
// Fixtures
// ----------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Fixture {
    pub application_id: u64,
    pub bot_user_id: u64,
    pub bot_name: String,
    /// Application owner (`GET /oauth2/applications/@me`); 0 = the first guild's owner.
    pub owner_id: u64,
    /// Permissions of the bot's managed role in every guild.
    pub bot_permissions: u64,
    /// The bot token: REST requests must carry `Authorization: Bot <token>` and IDENTIFY
    /// must send it, as on Discord (serenity adds the `Bot ` prefix itself).
    pub token: String,
    pub guilds: Vec<GuildFixture>,
}

impl Fixture {
    pub fn new(application_id: u64, bot_user_id: u64) -> Self {
        let p = Permissions::VIEW_CHANNEL
            | Permissions::SEND_MESSAGES
            | Permissions::SEND_MESSAGES_IN_THREADS
            | Permissions::EMBED_LINKS
            | Permissions::ATTACH_FILES
            | Permissions::READ_MESSAGE_HISTORY
            | Permissions::CREATE_PUBLIC_THREADS
            | Permissions::CREATE_PRIVATE_THREADS
            | Permissions::MANAGE_THREADS
            | Permissions::MANAGE_EVENTS
            | Permissions::CREATE_EVENTS
            | Permissions::MENTION_EVERYONE;
        Fixture {
            application_id,
            bot_user_id,
            bot_name: "masterclass-bot".into(),
            owner_id: 0,
            bot_permissions: p.bits(),
            token: "fake-token".into(),
            guilds: vec![],
        }
    }
    pub fn guild(mut self, guild: GuildFixture) -> Self {
        self.guilds.push(guild);
        self
    }
    fn find_guild(&self, id: u64) -> Option<&GuildFixture> {
        self.guilds.iter().find(|g| g.id == id)
    }
}

#[derive(Clone, Debug)]
pub struct GuildFixture {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    pub channels: Vec<ChannelFixture>,
    /// `@everyone` (id = guild id), an "Admin" role (if a member `is_admin`) and the bot's
    /// managed role are added by `FakeDiscord::start` unless present.
    pub roles: Vec<RoleFixture>,
    pub members: Vec<MemberFixture>,
}

impl GuildFixture {
    pub fn new(id: u64, name: &str, owner_id: u64) -> Self {
        let (channels, roles, members) = (vec![], vec![], vec![]);
        GuildFixture {
            id,
            name: name.into(),
            owner_id,
            channels,
            roles,
            members,
        }
    }
    pub fn channel(mut self, id: u64, name: &str, kind: ChannelKind) -> Self {
        self.channels.push(ChannelFixture {
            id,
            name: name.into(),
            kind,
        });
        self
    }
    pub fn role(mut self, id: u64, name: &str, permissions: u64) -> Self {
        self.roles.push(RoleFixture {
            id,
            name: name.into(),
            permissions,
            managed: false,
        });
        self
    }
    pub fn member(mut self, id: u64, username: &str, roles: &[u64]) -> Self {
        let m = MemberFixture {
            id,
            username: username.into(),
            roles: roles.to_vec(),
            is_admin: false,
        };
        self.members.push(m);
        self
    }
    pub fn admin(mut self, id: u64, username: &str) -> Self {
        let m = MemberFixture {
            id,
            username: username.into(),
            roles: vec![],
            is_admin: true,
        };
        self.members.push(m);
        self
    }
    fn find_member(&self, id: u64) -> Option<&MemberFixture> {
        self.members.iter().find(|m| m.id == id)
    }
    /// Discord's computed permissions: union of @everyone and the member's roles; owner and
    /// ADMINISTRATOR get everything.
    pub fn permissions_of(&self, user_id: u64) -> u64 {
        let Some(m) = self.find_member(user_id) else {
            return 0;
        };
        let bits = self
            .roles
            .iter()
            .filter(|r| r.id == self.id || m.roles.contains(&r.id))
            .fold(0, |acc, r| acc | r.permissions);
        if user_id == self.owner_id || bits & Permissions::ADMINISTRATOR.bits() != 0 {
            Permissions::all().bits()
        } else {
            bits
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    Text,
    Voice,
    Category,
    Announcement,
    Stage,
    Forum,
}

impl ChannelKind {
    fn code(self) -> u8 {
        match self {
            Self::Text => 0,
            Self::Voice => 2,
            Self::Category => 4,
            Self::Announcement => 5,
            Self::Stage => 13,
            Self::Forum => 15,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ChannelFixture {
    pub id: u64,
    pub name: String,
    pub kind: ChannelKind,
}

#[derive(Clone, Debug)]
pub struct RoleFixture {
    pub id: u64,
    pub name: String,
    pub permissions: u64,
    pub managed: bool,
}

#[derive(Clone, Debug)]
pub struct MemberFixture {
    pub id: u64,
    pub username: String,
    pub roles: Vec<u64>,
    /// Gets the guild's "Admin" role (ADMINISTRATOR | MANAGE_GUILD).
    pub is_admin: bool,
}

// ----------------------------------------------------------------------------------------------
// Recorded requests and failure injection
// ----------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct FilePart {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct Recorded {
    /// Position in the request log (see `FakeDiscord::mark`).
    pub seq: usize,
    pub method: Method,
    /// Full path without query, e.g. `/api/v10/channels/1/messages`.
    pub path: String,
    /// Raw query string without `?` (serenity sends e.g. `&limit=5`).
    pub query: String,
    pub headers: HeaderMap,
    /// JSON body; for multipart bodies the parsed `payload_json` part; `Null` otherwise.
    pub body: Value,
    pub raw_body: Bytes,
    /// Non-`payload_json` parts of a multipart body (attachments).
    pub files: Vec<FilePart>,
    /// What the fake answered.
    pub status: u16,
    pub response: Value,
    /// When the fake received it (latency measurements).
    pub at: std::time::Instant,
}

impl Recorded {
    /// Path without the `/api/v10` prefix, e.g. `/channels/1/messages`.
    pub fn route(&self) -> &str {
        self.path.strip_prefix("/api/v10").unwrap_or(&self.path)
    }
    /// `r.is("POST", "/channels/*/messages")`; `*` matches one path segment.
    pub fn is(&self, method: &str, route: &str) -> bool {
        let (want, got) = (
            route.trim_matches('/').split('/'),
            self.route().trim_matches('/').split('/'),
        );
        self.method.as_str() == method
            && want.clone().count() == got.clone().count()
            && want.zip(got).all(|(w, g)| w == "*" || w == g)
    }
}

impl fmt::Display for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = if self.query.is_empty() {
            String::new()
        } else {
            format!("?{}", self.query)
        };
        write!(
            f,
            "#{} {} {}{} -> {} body={:.300}",
            self.seq, self.method, self.path, q, self.status, self.body
        )
    }
}

#[derive(Clone, Debug)]
pub enum Failure {
    /// 429 with Discord's body and rate-limit headers (per-route, `global: false`).
    RateLimited { retry_after: f64 },
    /// 500 Internal Server Error.
    ServerError,
    /// The fake does the work (creates or edits as usual) but answers 500, as when Discord
    /// did it and the answer never reached the bot: a retry must not duplicate it.
    LostResponse,
    /// 403 `{"message":"Cannot send messages to this user","code":50007}`.
    CannotDmUser,
    /// Any Discord JSON error.
    Custom {
        status: u16,
        code: i64,
        message: String,
    },
}

#[derive(Clone, Debug)]
pub struct FailRule {
    pub method: Option<Method>,
    pub path_contains: String,
    pub response: Failure,
    /// How many matching requests fail; `None` = forever.
    pub times: Option<usize>,
}

impl FailRule {
    pub fn once(method: Method, path_contains: &str, response: Failure) -> Self {
        FailRule {
            method: Some(method),
            path_contains: path_contains.into(),
            response,
            times: Some(1),
        }
    }
    pub fn always(method: Method, path_contains: &str, response: Failure) -> Self {
        FailRule {
            method: Some(method),
            path_contains: path_contains.into(),
            response,
            times: None,
        }
    }
}

// ----------------------------------------------------------------------------------------------
// The fake
// ----------------------------------------------------------------------------------------------

/// Cheap to clone; all clones share one fake.
#[derive(Clone)]
pub struct FakeDiscord(Arc<Inner>);

struct Inner {
    fixture: Fixture,
    rest_port: u16,
    gateway_port: u16,
    next_id: AtomicU64,
    state: Mutex<RestState>,
    /// Bumped on every recorded request, to wake `wait_for`.
    requests_seen: watch::Sender<usize>,
    gateway: watch::Sender<GatewayStatus>,
}

#[derive(Default)]
struct RestState {
    log: Vec<Recorded>,
    rules: Vec<FailRule>,
    rate_limit: Option<u32>,
    window: VecDeque<Instant>,
    rate_limited: usize,
    channels: HashMap<u64, Value>,
    dm_channels: HashMap<u64, u64>,
    messages: HashMap<u64, Value>,
    thread_members: HashMap<u64, BTreeSet<u64>>,
    /// By id, so listings come in id (creation) order as on Discord.
    events: BTreeMap<u64, Value>,
    commands: HashMap<(Option<u64>, String), u64>,
    registered: HashMap<Option<u64>, Vec<Value>>,
    interactions: HashMap<String, Ix>,
    /// How long after dispatch an initial response is still accepted.
    interaction_deadline: Duration,
    /// Initial responses refused because they came after the deadline.
    late_callbacks: usize,
    /// Gateway session id -> last sequence number, for RESUME.
    sessions: HashMap<String, u64>,
}

#[derive(Clone)]
struct Ix {
    id: u64,
    channel_id: u64,
    /// The message a component was clicked on.
    message_id: Option<u64>,
    original: Option<u64>,
    acked: bool,
    /// When INTERACTION_CREATE went out: the initial response's deadline runs from here.
    dispatched: Instant,
}

#[derive(Clone, Default)]
struct GatewayStatus {
    current: Option<Conn>,
    identifies: Vec<Value>,
    resumes: usize,
}

#[derive(Clone)]
struct Conn {
    id: u64,
    tx: mpsc::UnboundedSender<Outgoing>,
}

enum Outgoing {
    Dispatch(String, Value, oneshot::Sender<()>),
    Close(oneshot::Sender<()>),
}

/// An interaction dispatched with `FakeDiscord::interact`.
#[derive(Clone)]
pub struct InteractionHandle {
    pub id: u64,
    pub token: String,
    pub payload: Value,
    fake: FakeDiscord,
}

impl InteractionHandle {
    /// The `POST /interactions/{id}/{token}/callback` (body `type` 4..9 = response kind).
    pub async fn callback(&self, timeout: Duration) -> Recorded {
        let route = format!("/interactions/{}/{}/callback", self.id, self.token);
        let what = format!("callback of interaction {}", self.id);
        self.fake
            .wait_for(&what, |r| r.is("POST", &route), timeout)
            .await
    }
    /// The first followup (`POST /webhooks/{app}/{token}`).
    pub async fn followup(&self, timeout: Duration) -> Recorded {
        let route = format!(
            "/webhooks/{}/{}",
            self.fake.0.fixture.application_id, self.token
        );
        let what = format!("followup of interaction {}", self.id);
        self.fake
            .wait_for(&what, |r| r.is("POST", &route), timeout)
            .await
    }
    /// The first edit of the original response (`PATCH .../messages/@original`).
    pub async fn original_edit(&self, timeout: Duration) -> Recorded {
        let app = self.fake.0.fixture.application_id;
        let route = format!("/webhooks/{app}/{}/messages/@original", self.token);
        let what = format!("edit of original response of interaction {}", self.id);
        self.fake
            .wait_for(&what, |r| r.is("PATCH", &route), timeout)
            .await
    }
}

impl FakeDiscord {
    /// Binds REST and gateway listeners on 127.0.0.1 (random ports) and serves them.
    pub async fn start(mut fixture: Fixture) -> FakeDiscord {
        let rest = TcpListener::bind("127.0.0.1:0").await.expect("bind REST");
        let gw = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gateway");
        let next_id = AtomicU64::new(FIRST_ID);
        normalize(&mut fixture, &next_id);
        let inner = Inner {
            rest_port: rest.local_addr().unwrap().port(),
            gateway_port: gw.local_addr().unwrap().port(),
            next_id,
            state: Mutex::new(RestState {
                interaction_deadline: INTERACTION_DEADLINE,
                ..RestState::default()
            }),
            requests_seen: watch::channel(0).0,
            gateway: watch::channel(GatewayStatus::default()).0,
            fixture,
        };
        let fake = FakeDiscord(Arc::new(inner));
        {
            let mut st = fake.state();
            for g in &fake.0.fixture.guilds {
                for c in &g.channels {
                    st.channels.insert(c.id, channel_json(c, g.id));
                }
            }
        }
        let app = axum::Router::new()
            .fallback(rest_handler)
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(rest, app).await.expect("REST server") });
        let f = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = gw.accept().await {
                tokio::spawn(f.clone().run_connection(stream));
            }
        });
        fake
    }

    /// The normalized fixture (with @everyone, Admin and bot roles and the bot member added).
    pub fn fixture(&self) -> &Fixture {
        &self.0.fixture
    }
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.0.rest_port)
    }
    pub fn gateway_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.0.gateway_port)
    }
    fn state(&self) -> std::sync::MutexGuard<'_, RestState> {
        self.0.state.lock().unwrap()
    }
    fn new_id(&self) -> u64 {
        self.0.next_id.fetch_add(1, Ordering::Relaxed)
    }

    // ---- request log ----

    pub fn requests(&self) -> Vec<Recorded> {
        self.state().log.clone()
    }
    /// Number of requests so far; use `r.seq >= mark` to wait only for newer requests.
    pub fn mark(&self) -> usize {
        self.state().log.len()
    }
    /// Waits for the first recorded request (past or future) matching `pred`; panics after
    /// `timeout` with `what` and the recent requests.
    pub async fn wait_for(
        &self,
        what: &str,
        pred: impl Fn(&Recorded) -> bool,
        timeout: Duration,
    ) -> Recorded {
        let mut seen = self.0.requests_seen.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(r) = self.state().log.iter().find(|r| pred(r)) {
                return r.clone();
            }
            if tokio::time::timeout_at(deadline, seen.changed())
                .await
                .is_err()
            {
                panic!(
                    "timed out after {timeout:?} waiting for {what}\n{}",
                    self.dump()
                );
            }
        }
    }
    /// The last 30 requests, one per line (for panic messages).
    pub fn dump(&self) -> String {
        let st = self.state();
        let lines: Vec<String> = st
            .log
            .iter()
            .rev()
            .take(30)
            .rev()
            .map(|r| format!("  {r}"))
            .collect();
        format!(
            "recent requests ({} total):\n{}",
            st.log.len(),
            lines.join("\n")
        )
    }

    // ---- failure injection ----

    pub fn fail(&self, rule: FailRule) {
        self.state().rules.push(rule);
    }
    /// Every DM to `user_id` fails with 50007 (as when the user closed DMs).
    pub fn fail_dms_to(&self, user_id: u64) {
        let path = format!("/channels/{}/messages", self.dm_channel_id(user_id));
        self.fail(FailRule::always(Method::POST, &path, Failure::CannotDmUser));
    }
    pub fn clear_failures(&self) {
        self.state().rules.clear();
    }
    /// Global limiter: at most `per_second` requests per rolling second, then 429 (global).
    pub fn set_rate_limit(&self, per_second: Option<u32>) {
        let mut st = self.state();
        st.rate_limit = per_second;
        st.window.clear();
    }
    /// How many 429s the global limiter has answered.
    pub fn rate_limited_count(&self) -> usize {
        self.state().rate_limited
    }

    // ---- state inspection ----

    /// The DM channel the fake uses for `user_id` (stable for the fake's lifetime).
    pub fn dm_channel_id(&self, user_id: u64) -> u64 {
        self.dm_channel_in(&mut self.state(), user_id)
    }
    pub fn channel(&self, id: u64) -> Option<Value> {
        self.state().channels.get(&id).cloned()
    }
    pub fn message(&self, id: u64) -> Option<Value> {
        self.state().messages.get(&id).cloned()
    }
    pub fn scheduled_event(&self, id: u64) -> Option<Value> {
        self.state().events.get(&id).cloned()
    }
    pub fn thread_members(&self, thread_id: u64) -> Vec<u64> {
        self.state()
            .thread_members
            .get(&thread_id)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }
    /// The messages Discord holds in a channel, oldest first.
    pub fn messages_in(&self, channel_id: u64) -> Vec<Value> {
        let st = self.state();
        let channel = channel_id.to_string();
        let mut list: Vec<Value> = st
            .messages
            .values()
            .filter(|m| m["channel_id"] == channel)
            .cloned()
            .collect();
        list.sort_by_key(msg_id);
        list
    }
    /// The threads (archived or not) started in a channel, oldest first.
    pub fn threads_in(&self, parent_id: u64) -> Vec<Value> {
        let st = self.state();
        let parent = parent_id.to_string();
        let mut list: Vec<Value> = st
            .channels
            .values()
            .filter(|c| c["parent_id"] == parent && thread_flags(c).is_some())
            .cloned()
            .collect();
        list.sort_by_key(msg_id);
        list
    }
    /// `(archived, locked, name)` of a thread.
    pub fn thread_state(&self, id: u64) -> Option<(bool, bool, String)> {
        let st = self.state();
        let t = st.channels.get(&id)?;
        let meta = t.get("thread_metadata")?;
        let name = t["name"].as_str().unwrap_or_default().to_string();
        Some((meta["archived"] == true, meta["locked"] == true, name))
    }
    /// Every scheduled event, in id order.
    pub fn events(&self) -> Vec<Value> {
        self.state().events.values().cloned().collect()
    }

    // ---- interaction deadline ----

    /// How long after dispatch an initial response is accepted (3 s, as on Discord). A test
    /// of the refusal sets zero rather than sleeping.
    pub fn set_interaction_deadline(&self, deadline: Duration) {
        self.state().interaction_deadline = deadline;
    }
    /// Initial responses refused with 10062 because they came after the deadline.
    pub fn late_callbacks(&self) -> usize {
        self.state().late_callbacks
    }

    // ---- Discord's own timers ----

    /// Archives a thread, as Discord does after `auto_archive_duration` without activity, and
    /// tells a connected bot with THREAD_UPDATE (tests without a gateway client work too).
    pub async fn archive_thread(&self, thread_id: u64) {
        let thread = {
            let mut st = self.state();
            let t = st.channels.get_mut(&thread_id);
            let t = t.filter(|t| t.get("thread_metadata").is_some());
            let t = t.unwrap_or_else(|| panic!("{thread_id} is not a thread"));
            set_archived(t, true);
            t.clone()
        };
        if self.0.gateway.borrow().current.is_some() {
            self.dispatch("THREAD_UPDATE", thread).await;
        }
    }

    /// What Discord's "status update automation" does by `now`: EXTERNAL events start at their
    /// start time and complete at their end time; any event still SCHEDULED 3 hours after its
    /// start is canceled. (No gateway event is sent.)
    pub fn run_event_automation(&self, now: chrono::DateTime<chrono::Utc>) {
        for ev in self.state().events.values_mut() {
            let (start, end) = (
                time_of(&ev["scheduled_start_time"]),
                time_of(&ev["scheduled_end_time"]),
            );
            let due = |t: Option<chrono::DateTime<chrono::Utc>>| t.is_some_and(|t| t <= now);
            let external = ev["entity_type"] == 3;
            if external && ev["status"] == 1 && due(start) {
                ev["status"] = 2.into();
            }
            if external && ev["status"] == 2 && due(end) {
                ev["status"] = 3.into();
            }
            if ev["status"] == 1 && due(start.map(|s| s + EVENT_CANCEL_AFTER)) {
                ev["status"] = 4.into();
            }
        }
    }

    // ---- gateway ----

    /// Waits until a client has identified (or resumed) on the current connection and got
    /// READY + GUILD_CREATEs.
    pub async fn wait_until_ready(&self, timeout: Duration) {
        let mut rx = self.0.gateway.subscribe();
        if tokio::time::timeout(timeout, rx.wait_for(|s| s.current.is_some()))
            .await
            .is_err()
        {
            panic!(
                "no gateway client became ready within {timeout:?}\n{}",
                self.dump()
            );
        }
    }
    /// IDENTIFY payloads received so far (one per fresh session).
    pub fn identifies(&self) -> Vec<Value> {
        self.0.gateway.borrow().identifies.clone()
    }
    pub fn resumes(&self) -> usize {
        self.0.gateway.borrow().resumes
    }

    /// Sends a dispatch (op 0) on the current connection, waiting up to 10 s for one. Panics
    /// if serenity would not understand the payload: it turns an invalid known event into
    /// `Event::Unknown` and silently skips it.
    pub async fn dispatch(&self, event_name: &str, data: Value) {
        use serenity::all::{Event, GatewayEvent, Guild, GuildChannel, Interaction, Message};
        let frame = json!({"op": 0, "s": 1, "t": event_name, "d": data});
        let why = match serde_json::from_value::<GatewayEvent>(frame) {
            Ok(GatewayEvent::Dispatch(_, Event::Unknown(_))) => {
                let d = data.clone();
                let detail = match event_name {
                    "INTERACTION_CREATE" => serde_json::from_value::<Interaction>(d).err(),
                    "GUILD_CREATE" => serde_json::from_value::<Guild>(d).err(),
                    "MESSAGE_CREATE" => serde_json::from_value::<Message>(d).err(),
                    "THREAD_UPDATE" => serde_json::from_value::<GuildChannel>(d).err(),
                    _ => None,
                };
                Some(format!("it becomes Event::Unknown ({detail:?})"))
            }
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        };
        if let Some(why) = why {
            panic!("serenity cannot use {event_name}: {why}\n{data:#}");
        }
        self.wait_until_ready(Duration::from_secs(10)).await;
        let conn = self.0.gateway.borrow().current.clone().expect("connection");
        let (done, sent) = oneshot::channel();
        let _ = conn
            .tx
            .send(Outgoing::Dispatch(event_name.into(), data, done));
        sent.await
            .unwrap_or_else(|_| panic!("gateway connection closed while dispatching {event_name}"));
    }

    /// Closes the current gateway connection (close code 4000). A still-running client will
    /// RESUME; a new client will IDENTIFY.
    pub async fn drop_gateway(&self) {
        let mut conn = None;
        self.0.gateway.send_modify(|s| conn = s.current.take());
        if let Some(conn) = conn {
            let (done, closed) = oneshot::channel();
            if conn.tx.send(Outgoing::Close(done)).is_ok() {
                let _ = closed.await;
            }
        }
    }

    async fn run_connection(self, stream: TcpStream) {
        let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        let conn = Conn {
            id: self.new_id(),
            tx,
        };
        let (mut session, mut seq) = (String::new(), 0u64);
        let text = |v: Value| WsMessage::Text(v.to_string());
        if ws
            .send(text(
                json!({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_MS}}),
            ))
            .await
            .is_err()
        {
            return;
        }
        loop {
            tokio::select! {
                msg = ws.next() => {
                    let Some(Ok(msg)) = msg else { break };
                    let Ok(Ok(v)) = msg.to_text().map(serde_json::from_str::<Value>) else { continue };
                    let (frames, register) = match self.answer(&v, conn.id, &mut session, &mut seq) {
                        Ok(answer) => answer,
                        Err(close) => {
                            let _ = ws.close(Some(close)).await;
                            break;
                        }
                    };
                    for frame in frames {
                        if ws.send(text(frame)).await.is_err() {
                            break;
                        }
                    }
                    // Only once READY/RESUMED went out is this the connection tests talk to.
                    if register {
                        let c = conn.clone();
                        self.0.gateway.send_modify(|s| {
                            match v["op"].as_u64() {
                                Some(2) => s.identifies.push(v["d"].clone()),
                                _ => s.resumes += 1,
                            }
                            s.current = Some(c);
                        });
                    }
                }
                Some(out) = rx.recv() => match out {
                    Outgoing::Dispatch(t, d, done) => {
                        seq += 1;
                        self.state().sessions.insert(session.clone(), seq);
                        if ws.send(text(json!({"op": 0, "s": seq, "t": t, "d": d}))).await.is_ok() {
                            let _ = done.send(());
                        }
                    }
                    Outgoing::Close(done) => {
                        let frame = CloseFrame { code: CloseCode::Library(4000), reason: "fake: dropped".into() };
                        let _ = ws.close(Some(frame)).await;
                        let _ = done.send(());
                        break;
                    }
                },
            }
        }
        self.0.gateway.send_if_modified(|s| {
            let mine = s.current.as_ref().is_some_and(|c| c.id == conn.id);
            if mine {
                s.current = None;
            }
            mine
        });
    }

    /// Frames answering one client frame, and whether a session is now established; or the
    /// close frame Discord would end the connection with.
    fn answer(
        &self,
        v: &Value,
        conn: u64,
        session: &mut String,
        seq: &mut u64,
    ) -> Result<(Vec<Value>, bool), CloseFrame<'static>> {
        Ok(match v["op"].as_u64() {
            Some(1) => (vec![json!({"op": 11})], false), // heartbeat → ACK
            Some(2) => {
                self.check_identify_token(&v["d"]["token"])?;
                *session = format!("fake-session-{conn}");
                let mut events = vec![("READY", self.ready_json(session))];
                for g in &self.0.fixture.guilds {
                    events.push(("GUILD_CREATE", self.guild_create_json(g)));
                }
                let frames = events.into_iter().enumerate();
                let frames = frames.map(|(i, (t, d))| json!({"op": 0, "s": i + 1, "t": t, "d": d}));
                let frames: Vec<Value> = frames.collect();
                *seq = frames.len() as u64;
                self.state().sessions.insert(session.clone(), *seq);
                (frames, true)
            }
            Some(6) => {
                let sid = v["d"]["session_id"].as_str().unwrap_or_default();
                let Some(last) = self.state().sessions.get(sid).copied() else {
                    return Ok((vec![json!({"op": 9, "d": false})], false)); // invalid session
                };
                (*session, *seq) = (sid.to_string(), last + 1);
                self.state().sessions.insert(session.clone(), *seq);
                (
                    vec![json!({"op": 0, "s": *seq, "t": "RESUMED", "d": {}})],
                    true,
                )
            }
            _ => (vec![], false), // presence updates, member chunk requests: ignored
        })
    }

    /// Discord closes with 4004 on a wrong token (with or without the `Bot ` prefix).
    fn check_identify_token(&self, token: &Value) -> Result<(), CloseFrame<'static>> {
        let sent = token.as_str().unwrap_or_default();
        if bare_token(sent) == bare_token(&self.0.fixture.token) {
            return Ok(());
        }
        Err(CloseFrame {
            code: CloseCode::Library(4004),
            reason: "Authentication failed.".into(),
        })
    }

    fn ready_json(&self, session: &str) -> Value {
        let fx = &self.0.fixture;
        let guilds: Vec<Value> = fx
            .guilds
            .iter()
            .map(|g| json!({"id": g.id.to_string(), "unavailable": true}))
            .collect();
        json!({
            "v": 10,
            "user": self.bot_user(),
            "guilds": guilds,
            "session_id": session,
            "resume_gateway_url": self.gateway_url(),
            "shard": [0, 1],
            "application": {"id": fx.application_id.to_string(), "flags": 0},
        })
    }

    fn guild_create_json(&self, g: &GuildFixture) -> Value {
        let mut guild = guild_json(g);
        let channels: Vec<Value> = g.channels.iter().map(|c| channel_json(c, g.id)).collect();
        let members: Vec<Value> = g
            .members
            .iter()
            .map(|m| self.member_json(g, m, true))
            .collect();
        let extra = json!({
            "joined_at": TS,
            "large": false,
            "unavailable": false,
            "member_count": g.members.len(),
            "voice_states": [],
            "members": members,
            "channels": channels,
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        });
        merge(&mut guild, &extra);
        guild
    }

    // ---- JSON builders ----

    pub fn bot_user(&self) -> Value {
        user_obj(self.0.fixture.bot_user_id, &self.0.fixture.bot_name, true)
    }
    fn user_json(&self, id: u64) -> Option<Value> {
        if id == self.0.fixture.bot_user_id {
            return Some(self.bot_user());
        }
        let m = self
            .0
            .fixture
            .guilds
            .iter()
            .find_map(|g| g.find_member(id))?;
        Some(user_obj(m.id, &m.username, false))
    }
    fn member_json(&self, g: &GuildFixture, m: &MemberFixture, with_user: bool) -> Value {
        let mut v = json!({
            "roles": m.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
            "joined_at": TS, "deaf": false, "mute": false, "flags": 0, "pending": false,
            "nick": null, "avatar": null, "banner": null, "premium_since": null,
            "communication_disabled_until": null,
        });
        if with_user {
            v["user"] = user_obj(m.id, &m.username, m.id == self.0.fixture.bot_user_id);
        } else {
            v["permissions"] = g.permissions_of(m.id).to_string().into();
        }
        v
    }
}

/// Adds @everyone, the Admin role, the bot's managed role and the bot member to each guild.
fn normalize(fx: &mut Fixture, ids: &AtomicU64) {
    if fx.owner_id == 0 {
        fx.owner_id = fx.guilds.first().map_or(1, |g| g.owner_id);
    }
    let default_everyone = (Permissions::VIEW_CHANNEL
        | Permissions::SEND_MESSAGES
        | Permissions::SEND_MESSAGES_IN_THREADS
        | Permissions::READ_MESSAGE_HISTORY
        | Permissions::ADD_REACTIONS
        | Permissions::USE_APPLICATION_COMMANDS
        | Permissions::CONNECT
        | Permissions::SPEAK)
        .bits();
    for g in &mut fx.guilds {
        if !g.roles.iter().any(|r| r.id == g.id) {
            g.roles.insert(
                0,
                RoleFixture {
                    id: g.id,
                    name: "@everyone".into(),
                    permissions: default_everyone,
                    managed: false,
                },
            );
        }
        if g.members.iter().any(|m| m.is_admin) {
            let admin = ids.fetch_add(1, Ordering::Relaxed);
            let perms = (Permissions::ADMINISTRATOR | Permissions::MANAGE_GUILD).bits();
            g.roles.push(RoleFixture {
                id: admin,
                name: "Admin".into(),
                permissions: perms,
                managed: false,
            });
            g.members
                .iter_mut()
                .filter(|m| m.is_admin)
                .for_each(|m| m.roles.push(admin));
        }
        if g.find_member(fx.bot_user_id).is_none() {
            let role = ids.fetch_add(1, Ordering::Relaxed);
            let bot_role = RoleFixture {
                id: role,
                name: fx.bot_name.clone(),
                permissions: fx.bot_permissions,
                managed: true,
            };
            g.roles.push(bot_role);
            let bot = MemberFixture {
                id: fx.bot_user_id,
                username: fx.bot_name.clone(),
                roles: vec![role],
                is_admin: false,
            };
            g.members.push(bot);
        }
    }
}

fn user_obj(id: u64, name: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(), "username": name, "discriminator": "0", "global_name": name,
        "avatar": null, "bot": bot, "public_flags": 0, "flags": 0, "banner": null,
        "accent_color": null, "primary_guild": null,
    })
}

fn role_json(r: &RoleFixture, position: usize) -> Value {
    json!({
        "id": r.id.to_string(), "name": r.name, "permissions": r.permissions.to_string(),
        "position": position, "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false, "managed": r.managed, "mentionable": false, "icon": null,
        "unicode_emoji": null, "flags": 0,
    })
}

fn channel_json(c: &ChannelFixture, guild_id: u64) -> Value {
    let mut v = json!({
        "id": c.id.to_string(), "type": c.kind.code(), "guild_id": guild_id.to_string(),
        "name": c.name, "position": 0, "flags": 0, "parent_id": null,
        "permission_overwrites": [], "nsfw": false,
    });
    let extra = match c.kind {
        ChannelKind::Voice | ChannelKind::Stage => {
            json!({"bitrate": 64000, "user_limit": 0, "rtc_region": null, "last_message_id": null})
        }
        ChannelKind::Category => json!({}),
        _ => json!({"topic": null, "last_message_id": null, "rate_limit_per_user": 0}),
    };
    merge(&mut v, &extra);
    v
}

fn guild_json(g: &GuildFixture) -> Value {
    let roles: Vec<Value> = g
        .roles
        .iter()
        .enumerate()
        .map(|(i, r)| role_json(r, i))
        .collect();
    json!({
        "id": g.id.to_string(), "name": g.name, "icon": null, "icon_hash": null, "splash": null,
        "discovery_splash": null, "owner_id": g.owner_id.to_string(), "afk_channel_id": null,
        "afk_timeout": 300, "widget_enabled": false, "verification_level": 0,
        "default_message_notifications": 1, "explicit_content_filter": 0, "roles": roles,
        "emojis": [], "features": [], "mfa_level": 0, "application_id": null,
        "system_channel_id": null, "system_channel_flags": 0, "rules_channel_id": null,
        "max_members": 500000, "vanity_url_code": null, "description": null, "banner": null,
        "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
        "public_updates_channel_id": null, "nsfw_level": 0, "stickers": [],
        "premium_progress_bar_enabled": false, "safety_alerts_channel_id": null,
    })
}

/// Shallow merge of `patch`'s keys into `target` (both objects).
fn merge(target: &mut Value, patch: &Value) {
    if let (Some(t), Some(p)) = (target.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            t.insert(k.clone(), v.clone());
        }
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// A token without the `Bot ` prefix.
fn bare_token(token: &str) -> &str {
    let token = token.trim();
    token.strip_prefix("Bot ").unwrap_or(token)
}

/// An RFC 3339 time field (`None` if null or unparsable).
fn time_of(v: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    let t = chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()?;
    Some(t.with_timezone(&chrono::Utc))
}

/// Sets `thread_metadata.archived`; Discord moves `archive_timestamp` on every change.
fn set_archived(thread: &mut Value, archived: bool) {
    thread["thread_metadata"]["archived"] = archived.into();
    thread["thread_metadata"]["archive_timestamp"] = now().into();
}

fn msg_id(m: &Value) -> u64 {
    m["id"].as_str().map_or(0, id_of)
}

fn id_of(s: &str) -> u64 {
    s.parse().unwrap_or(0)
}

// ----------------------------------------------------------------------------------------------
// Interaction builders
// ----------------------------------------------------------------------------------------------

impl FakeDiscord {
    /// Dispatches INTERACTION_CREATE with a fresh id/token (and `application_id`) filled in.
    pub async fn interact(&self, mut interaction: Value) -> InteractionHandle {
        let id = self.new_id();
        let token = format!("fake-token-{id}");
        interaction["id"] = id.to_string().into();
        interaction["token"] = token.clone().into();
        interaction["application_id"] = self.0.fixture.application_id.to_string().into();
        // The deadline runs from the dispatch, not from waiting for a connection.
        self.wait_until_ready(Duration::from_secs(10)).await;
        let ix = Ix {
            id,
            channel_id: interaction["channel_id"].as_str().map_or(0, id_of),
            message_id: interaction["message"]["id"].as_str().map(id_of),
            original: None,
            acked: false,
            dispatched: Instant::now(),
        };
        self.state().interactions.insert(token.clone(), ix);
        self.dispatch("INTERACTION_CREATE", interaction.clone())
            .await;
        InteractionHandle {
            id,
            token,
            payload: interaction,
            fake: self.clone(),
        }
    }

    /// `/command [group] [sub] options...`; `sub` may be "group sub". Options are Discord
    /// option objects (`{"name","type","value"}`); users/roles/channels they reference are
    /// added to `resolved` from the fixture.
    pub fn slash_command(
        &self,
        channel: u64,
        user: u64,
        command: &str,
        sub: Option<&str>,
        options: Value,
    ) -> Value {
        let options = nest(sub, options);
        let resolved = self.resolve(channel, &options);
        let data = json!({"id": self.command_id(command), "name": command, "type": 1, "options": options, "resolved": resolved});
        self.base_interaction(2, channel, user, data)
    }

    /// A user context-menu command on `target`.
    pub fn user_context_menu(&self, channel: u64, user: u64, command: &str, target: u64) -> Value {
        let probe = json!([{"type": 6, "value": target.to_string()}]);
        let data = json!({
            "id": self.command_id(command), "name": command, "type": 2,
            "target_id": target.to_string(), "resolved": self.resolve(channel, &probe),
        });
        self.base_interaction(2, channel, user, data)
    }

    /// Autocomplete for string option `focused` typed so far as `partial`, after `options`.
    #[allow(clippy::too_many_arguments)]
    pub fn autocomplete(
        &self,
        channel: u64,
        user: u64,
        command: &str,
        sub: Option<&str>,
        options: Value,
        focused: &str,
        partial: &str,
    ) -> Value {
        let mut options = options.as_array().cloned().unwrap_or_default();
        options.push(json!({"name": focused, "type": 3, "value": partial, "focused": true}));
        let options = nest(sub, Value::Array(options));
        let data =
            json!({"id": self.command_id(command), "name": command, "type": 1, "options": options});
        self.base_interaction(4, channel, user, data)
    }

    /// A modal submitted with `(input custom_id, value)` text inputs.
    pub fn modal_submit(
        &self,
        channel: u64,
        user: u64,
        custom_id: &str,
        fields: &[(&str, &str)],
    ) -> Value {
        let rows: Vec<Value> = fields
            .iter()
            .map(|(id, value)| json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]}))
            .collect();
        self.base_interaction(
            5,
            channel,
            user,
            json!({"custom_id": custom_id, "components": rows}),
        )
    }

    /// A button click on `message_id` (a message the bot sent through the fake, or else a
    /// minimal bot message with that id).
    pub fn button_click(&self, channel: u64, user: u64, custom_id: &str, message_id: u64) -> Value {
        self.component(
            channel,
            user,
            message_id,
            json!({"custom_id": custom_id, "component_type": 2}),
        )
    }

    /// A string-select choice on `message_id`.
    pub fn select_menu(
        &self,
        channel: u64,
        user: u64,
        custom_id: &str,
        message_id: u64,
        values: &[&str],
    ) -> Value {
        let data = json!({"custom_id": custom_id, "component_type": 3, "values": values});
        self.component(channel, user, message_id, data)
    }

    fn component(&self, channel: u64, user: u64, message_id: u64, data: Value) -> Value {
        // A message the test made up exists from now on, as any message clicked on would.
        let message = self.message(message_id).unwrap_or_else(|| {
            let made_up = self.message_json(message_id, channel, &json!({}), 0);
            self.state().messages.insert(message_id, made_up.clone());
            made_up
        });
        let mut v = self.base_interaction(3, channel, user, data);
        v["message"] = message;
        v
    }

    /// Stable per-name command ids (as registered via PUT, else fresh).
    fn command_id(&self, name: &str) -> String {
        let mut st = self.state();
        let known = st
            .commands
            .iter()
            .find(|((_, n), _)| n == name)
            .map(|(_, id)| *id);
        let id = known.unwrap_or_else(|| self.new_id());
        st.commands.entry((None, name.to_string())).or_insert(id);
        id.to_string()
    }

    /// Interaction fields common to all types; `member` in guild channels, `user` in DMs.
    fn base_interaction(&self, kind: u8, channel: u64, user: u64, data: Value) -> Value {
        let fx = &self.0.fixture;
        let ch = self
            .channel(channel)
            .unwrap_or_else(|| panic!("channel {channel} is not in the fixture"));
        let partial_channel = json!({"id": ch["id"], "type": ch["type"], "name": ch["name"], "guild_id": ch["guild_id"]});
        let mut v = json!({
            "type": kind, "data": data, "channel_id": channel.to_string(), "channel": partial_channel,
            "version": 1, "locale": "en-US", "entitlements": [], "attachment_size_limit": 10_485_760,
        });
        match ch["guild_id"]
            .as_str()
            .map(id_of)
            .and_then(|g| fx.find_guild(g))
        {
            Some(g) => {
                let m = g
                    .find_member(user)
                    .unwrap_or_else(|| panic!("user {user} is not a member of guild {}", g.id));
                let mut member = self.member_json(g, m, true);
                member["permissions"] = g.permissions_of(user).to_string().into();
                merge(
                    &mut v,
                    &json!({
                        "guild_id": g.id.to_string(), "member": member, "guild_locale": "en-US",
                        "guild": {"id": g.id.to_string(), "locale": "en-US", "features": []},
                        "app_permissions": g.permissions_of(fx.bot_user_id).to_string(),
                        "authorizing_integration_owners": {"0": g.id.to_string()}, "context": 0,
                    }),
                );
            }
            None => {
                let u = self
                    .user_json(user)
                    .unwrap_or_else(|| user_obj(user, &format!("user{user}"), false));
                merge(
                    &mut v,
                    &json!({
                        "user": u, "app_permissions": fx.bot_permissions.to_string(),
                        "authorizing_integration_owners": {"0": "0"}, "context": 1,
                    }),
                );
            }
        }
        v
    }

    /// `resolved` for USER(6)/CHANNEL(7)/ROLE(8)/MENTIONABLE(9) option values, from the fixture.
    fn resolve(&self, channel: u64, options: &Value) -> Value {
        let guild = self
            .channel(channel)
            .and_then(|c| c["guild_id"].as_str().map(id_of));
        let guild = guild.and_then(|g| self.0.fixture.find_guild(g));
        let (mut users, mut members, mut roles, mut channels) =
            (Map::new(), Map::new(), Map::new(), Map::new());
        let mut stack: Vec<&Value> = options
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        while let Some(o) = stack.pop() {
            stack.extend(o["options"].as_array().into_iter().flatten());
            let Some(id) = o["value"].as_str().map(str::to_string) else {
                continue;
            };
            let n = id_of(&id);
            let role = guild.and_then(|g| {
                g.roles
                    .iter()
                    .position(|r| r.id == n)
                    .map(|i| role_json(&g.roles[i], i))
            });
            match (o["type"].as_u64(), role) {
                (Some(8 | 9), Some(r)) => {
                    roles.insert(id, r);
                }
                (Some(6 | 9), _) => {
                    let u = self
                        .user_json(n)
                        .unwrap_or_else(|| panic!("option user {n} is not in the fixture"));
                    users.insert(id.clone(), u);
                    if let Some((g, m)) = guild.and_then(|g| g.find_member(n).map(|m| (g, m))) {
                        members.insert(id, self.member_json(g, m, false));
                    }
                }
                (Some(7), _) => {
                    let c = self
                        .channel(n)
                        .unwrap_or_else(|| panic!("option channel {n} is not in the fixture"));
                    let keys = ["id", "name", "type", "parent_id", "thread_metadata"];
                    let p: Map<String, Value> = keys
                        .iter()
                        .filter_map(|k| Some((k.to_string(), c.get(*k)?.clone())))
                        .collect();
                    let mut p = Value::Object(p);
                    p["permissions"] = guild
                        .map_or(0, |g| g.permissions_of(self.0.fixture.bot_user_id))
                        .to_string()
                        .into();
                    channels.insert(id, p);
                }
                _ => {}
            }
        }
        json!({"users": users, "members": members, "roles": roles, "channels": channels})
    }
}

/// Wraps options into SUB_COMMAND (1) / SUB_COMMAND_GROUP (2) options for "group sub".
fn nest(sub: Option<&str>, options: Value) -> Value {
    let names: Vec<&str> = sub
        .map(|s| s.split_whitespace().collect())
        .unwrap_or_default();
    names
        .iter()
        .enumerate()
        .rev()
        .fold(options, |inner, (i, name)| {
            let kind = if i + 1 == names.len() { 1 } else { 2 };
            json!([{"type": kind, "name": name, "options": inner}])
        })
}

// ----------------------------------------------------------------------------------------------
// REST
// ----------------------------------------------------------------------------------------------

struct Reply {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

fn ok(body: Value) -> Reply {
    Reply {
        status: 200,
        body,
        headers: vec![],
    }
}
fn no_content() -> Reply {
    Reply {
        status: 204,
        body: Value::Null,
        headers: vec![],
    }
}
fn err(status: u16, code: i64, message: &str) -> Reply {
    Reply {
        status,
        body: json!({"message": message, "code": code}),
        headers: vec![],
    }
}
fn unknown_channel() -> Reply {
    err(404, 10003, "Unknown Channel")
}
fn unknown_message() -> Reply {
    err(404, 10008, "Unknown Message")
}
fn unknown_webhook() -> Reply {
    err(404, 10015, "Unknown Webhook")
}
fn thread_archived() -> Reply {
    err(400, 50083, "Thread is archived")
}
fn invalid_form_body() -> Reply {
    err(400, 50035, "Invalid Form Body")
}

/// Whether a string field is absent/null (if `optional`) or has `min..=max` characters.
fn len_ok(v: &Value, min: usize, max: usize, optional: bool) -> bool {
    match v {
        Value::Null => optional,
        Value::String(s) => (min..=max).contains(&s.chars().count()),
        _ => false,
    }
}

/// Discord's message limits: content 2000 chars, 10 embeds (each within the embed limits),
/// 100 users in `allowed_mentions`.
fn invalid_message(body: &Value) -> Option<Reply> {
    let embeds = body["embeds"].as_array().map_or(&[][..], Vec::as_slice);
    let users = body["allowed_mentions"]["users"]
        .as_array()
        .map_or(0, Vec::len);
    let ok = len_ok(&body["content"], 0, 2000, true)
        && embeds.len() <= 10
        && embeds.iter().all(valid_embed)
        && embeds.iter().map(embed_chars).sum::<usize>() <= 6000
        && users <= 100;
    (!ok).then(invalid_form_body)
}

/// Title 256, description 4096, 25 fields (name 256, value 1024), footer 2048, author 256.
fn valid_embed(e: &Value) -> bool {
    let fields = e["fields"].as_array().map_or(&[][..], Vec::as_slice);
    len_ok(&e["title"], 0, 256, true)
        && len_ok(&e["description"], 0, 4096, true)
        && len_ok(&e["footer"]["text"], 0, 2048, true)
        && len_ok(&e["author"]["name"], 0, 256, true)
        && fields.len() <= 25
        && fields
            .iter()
            .all(|f| len_ok(&f["name"], 1, 256, false) && len_ok(&f["value"], 1, 1024, false))
}

/// The characters that count towards an embed's 6000 (summed over a message's embeds).
fn embed_chars(e: &Value) -> usize {
    let n = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    let fields = e["fields"].as_array().into_iter().flatten();
    let fields: usize = fields.map(|f| n(&f["name"]) + n(&f["value"])).sum();
    n(&e["title"])
        + n(&e["description"])
        + n(&e["footer"]["text"])
        + n(&e["author"]["name"])
        + fields
}

/// Thread creation: name 1..=100, a valid `auto_archive_duration` if given.
fn invalid_thread(body: &Value) -> Option<Reply> {
    let ok = len_ok(&body["name"], 1, 100, false)
        && valid_archive_duration(&body["auto_archive_duration"]);
    (!ok).then(invalid_form_body)
}

fn valid_archive_duration(v: &Value) -> bool {
    v.is_null() || [60, 1440, 4320, 10080].iter().any(|d| v == d)
}

/// `(archived, locked)` of a thread; `None` for other channels.
fn thread_flags(channel: &Value) -> Option<(bool, bool)> {
    let meta = channel.get("thread_metadata")?;
    Some((meta["archived"] == true, meta["locked"] == true))
}

/// A channel PATCH Discord refuses: a bad name or archive duration, or any change to an
/// archived thread but archiving/locking it, unless the PATCH also unarchives it.
fn invalid_channel_edit(channel: &Value, body: &Value) -> Option<Reply> {
    let name_ok = body.get("name").is_none_or(|n| len_ok(n, 1, 100, false));
    if !name_ok || !valid_archive_duration(&body["auto_archive_duration"]) {
        return Some(invalid_form_body());
    }
    let archived = thread_flags(channel).is_some_and(|(a, _)| a);
    let keys = body.as_object().into_iter().flat_map(|o| o.keys());
    let only_flags = keys.into_iter().all(|k| k == "archived" || k == "locked");
    (archived && body["archived"] != false && !only_flags).then(thread_archived)
}

/// Applies a channel PATCH: thread settings live in `thread_metadata`, the rest at top level.
fn edit_channel(channel: &mut Value, body: &Value) {
    const META: [&str; 4] = ["archived", "locked", "auto_archive_duration", "invitable"];
    for (k, v) in body.as_object().into_iter().flatten() {
        if !META.contains(&k.as_str()) {
            channel[k] = v.clone();
        } else if channel.get("thread_metadata").is_some() {
            let changed = channel["thread_metadata"][k] != *v;
            channel["thread_metadata"][k] = v.clone();
            if changed && (k == "archived" || k == "auto_archive_duration") {
                channel["thread_metadata"]["archive_timestamp"] = now().into();
            }
        }
    }
}

/// A scheduled event as Discord accepts it: name 1..=100, description ≤ 1000, a start time
/// (and an end after it); EXTERNAL (3) needs a location 1..=100 and an end time, STAGE (1) and
/// VOICE (2) a channel.
fn valid_event(ev: &Value) -> bool {
    let (start, end) = (
        time_of(&ev["scheduled_start_time"]),
        time_of(&ev["scheduled_end_time"]),
    );
    let end_ok = ev["scheduled_end_time"].is_null() || end.zip(start).is_some_and(|(e, s)| e > s);
    let place_ok = match ev["entity_type"].as_u64() {
        Some(1 | 2) => !ev["channel_id"].is_null(),
        Some(3) => len_ok(&ev["entity_metadata"]["location"], 1, 100, false) && end.is_some(),
        _ => false,
    };
    len_ok(&ev["name"], 1, 100, false)
        && len_ok(&ev["description"], 0, 1000, true)
        && start.is_some()
        && end_ok
        && place_ok
}

/// An event PATCH Discord refuses: any change to a COMPLETED (3) or CANCELED (4) event, a
/// status change other than SCHEDULED→ACTIVE/CANCELED or ACTIVE→COMPLETED, or a result that
/// is not a valid event.
fn invalid_event_edit(ev: &Value, body: &Value) -> Option<Reply> {
    let from = ev["status"].as_u64().unwrap_or(0);
    if from == 3 || from == 4 {
        let msg = "Cannot update a completed or canceled event";
        return Some(err(400, 180000, msg));
    }
    let to = body.get("status").map_or(Some(from), Value::as_u64);
    let step_ok = matches!((from, to), (1, Some(2 | 4)) | (2, Some(3))) || to == Some(from);
    let mut edited = ev.clone();
    merge(&mut edited, body);
    (!step_ok || !valid_event(&edited)).then(invalid_form_body)
}

/// `GET /channels/{c}/messages?limit=&before=&after=`: newest first, as on Discord.
fn list_messages(st: &RestState, channel: u64, query: &str) -> Reply {
    let param = |key: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.parse::<u64>().unwrap_or(0))
    };
    let limit = param("limit").unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return invalid_form_body();
    }
    let (before, after) = (param("before").unwrap_or(u64::MAX), param("after"));
    let channel = channel.to_string();
    let mut ids: Vec<u64> = st
        .messages
        .iter()
        .filter(|(id, m)| m["channel_id"] == channel && **id < before && **id > after.unwrap_or(0))
        .map(|(id, _)| *id)
        .collect();
    ids.sort_unstable();
    // `after` pages forward from the oldest; otherwise the newest come first.
    let keep = limit as usize;
    let page = match after {
        Some(_) => &ids[..keep.min(ids.len())],
        None => &ids[ids.len().saturating_sub(keep)..],
    };
    let list: Vec<Value> = page
        .iter()
        .rev()
        .map(|id| st.messages[id].clone())
        .collect();
    ok(list.into())
}

/// The answer an injected failure gives (not `LostResponse`, which answers after the work).
fn failure_reply(failure: &Failure) -> Reply {
    match failure {
        Failure::RateLimited { retry_after } => rate_limited(*retry_after, false),
        Failure::ServerError | Failure::LostResponse => err(500, 0, "500: Internal Server Error"),
        Failure::CannotDmUser => err(403, 50007, "Cannot send messages to this user"),
        Failure::Custom {
            status,
            code,
            message,
        } => err(*status, *code, message),
    }
}

fn rate_limited(retry_after: f64, global: bool) -> Reply {
    let retry_after = (retry_after * 1000.0).ceil() / 1000.0;
    let body = json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": global});
    // Discord's Retry-After header is whole seconds, the JSON field is exact.
    let mut headers = vec![("retry-after", (retry_after.ceil() as u64).to_string())];
    if global {
        headers.extend([
            ("x-ratelimit-global", "true".into()),
            ("x-ratelimit-scope", "global".into()),
        ]);
    } else {
        let reset = chrono::Utc::now().timestamp_millis() as f64 / 1000.0 + retry_after;
        headers.extend([
            ("x-ratelimit-limit", "5".into()),
            ("x-ratelimit-remaining", "0".into()),
            ("x-ratelimit-reset", format!("{reset:.3}")),
            ("x-ratelimit-reset-after", format!("{retry_after:.3}")),
            ("x-ratelimit-bucket", "fakebucket".into()),
            ("x-ratelimit-scope", "user".into()),
        ]);
    }
    Reply {
        status: 429,
        body,
        headers,
    }
}

async fn rest_handler(
    State(fake): State<FakeDiscord>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    raw_body: Bytes,
) -> Response {
    let (body, files) = parse_body(&headers, &raw_body);
    let reply = {
        let mut st = fake.state();
        let (path, query) = (
            uri.path().to_string(),
            uri.query().unwrap_or("").to_string(),
        );
        let request = Request {
            method: &method,
            path: &path,
            query: &query,
            headers: &headers,
            body: &body,
            files: &files,
        };
        let reply = fake.respond(&mut st, &request);
        let seq = st.log.len();
        let response = reply.body.clone();
        st.log.push(Recorded {
            seq,
            method,
            path,
            query,
            headers,
            body,
            raw_body,
            files,
            status: reply.status,
            response,
            at: std::time::Instant::now(),
        });
        reply
    };
    fake.0.requests_seen.send_modify(|n| *n += 1);
    let mut resp = Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
    for (k, v) in reply.headers {
        resp = resp.header(k, v);
    }
    if reply.body.is_null() {
        resp.body(Body::empty()).unwrap()
    } else {
        resp.header("content-type", "application/json")
            .body(Body::from(reply.body.to_string()))
            .unwrap()
    }
}

/// JSON body, or for multipart the `payload_json` part plus the file parts.
fn parse_body(headers: &HeaderMap, body: &[u8]) -> (Value, Vec<FilePart>) {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(boundary) = ct
        .strip_prefix("multipart/form-data")
        .and_then(|r| r.split("boundary=").nth(1))
    else {
        return (serde_json::from_slice(body).unwrap_or(Value::Null), vec![]);
    };
    let delim = format!("--{}", boundary.trim_matches('"'));
    let (mut json, mut files) = (Value::Null, vec![]);
    for part in split_bytes(body, delim.as_bytes()) {
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(sep) = part.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..sep]);
        let data = &part[sep + 4..];
        let data = data.strip_suffix(b"\r\n").unwrap_or(data);
        let attr = |key: &str| {
            head.split(&format!("{key}=\""))
                .nth(1)
                .and_then(|s| s.split('"').next())
                .map(str::to_string)
        };
        let name = attr("name").unwrap_or_default();
        if name == "payload_json" {
            json = serde_json::from_slice(data).unwrap_or(Value::Null);
        } else {
            files.push(FilePart {
                name,
                filename: attr("filename"),
                data: data.to_vec(),
            });
        }
    }
    (json, files)
}

fn split_bytes<'a>(hay: &'a [u8], needle: &[u8]) -> Vec<&'a [u8]> {
    let (mut out, mut start, mut i) = (vec![], 0, 0);
    while i + needle.len() <= hay.len() {
        if &hay[i..i + needle.len()] == needle {
            out.push(&hay[start..i]);
            i += needle.len();
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&hay[start..]);
    out
}

/// One REST request, as `respond` sees it.
struct Request<'a> {
    method: &'a Method,
    path: &'a str,
    /// Without `?`.
    query: &'a str,
    headers: &'a HeaderMap,
    body: &'a Value,
    files: &'a [FilePart],
}

impl FakeDiscord {
    fn respond(&self, st: &mut RestState, req: &Request) -> Reply {
        let (method, path) = (req.method, req.path);
        let route = path.strip_prefix("/api/v10").unwrap_or(path);
        let segs: Vec<&str> = route.trim_matches('/').split('/').collect();
        if !self.authorized(&segs, req.headers) {
            return err(401, 0, "401: Unauthorized");
        }
        // Interaction endpoints are not bound to the global rate limit (Discord's rate-limit
        // docs); everything else is.
        let interaction_endpoint = matches!(segs.first(), Some(&"interactions" | &"webhooks"));
        if let Some(limit) = st.rate_limit.filter(|_| !interaction_endpoint) {
            let now = Instant::now();
            while st
                .window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                st.window.pop_front();
            }
            if st.window.len() >= limit as usize {
                st.rate_limited += 1;
                let wait = Duration::from_secs(1).saturating_sub(now.duration_since(st.window[0]));
                return rate_limited(wait.as_secs_f64().max(0.001), true);
            }
            st.window.push_back(now);
        }
        let rule = st.rules.iter_mut().find(|r| {
            r.times != Some(0)
                && r.method.as_ref().is_none_or(|m| m == method)
                && path.contains(&r.path_contains)
        });
        let mut lost = false;
        if let Some(rule) = rule {
            rule.times = rule.times.map(|n| n - 1);
            match &rule.response {
                Failure::LostResponse => lost = true,
                failure => return failure_reply(failure),
            }
        }
        let (method, body, files) = (method.as_str(), req.body, req.files);
        let reply = self.route(st, method, &segs, req.query, body, files);
        if lost {
            return err(500, 0, "500: Internal Server Error");
        }
        reply
    }

    /// Discord wants the bot token on every request except interaction callbacks and
    /// interaction webhooks, which the interaction token in the path authenticates.
    fn authorized(&self, segs: &[&str], headers: &HeaderMap) -> bool {
        if matches!(segs.first(), Some(&("interactions" | "webhooks"))) {
            return true;
        }
        let want = format!("Bot {}", bare_token(&self.0.fixture.token));
        let sent = headers.get("authorization").and_then(|v| v.to_str().ok());
        sent == Some(want.as_str())
    }

    fn route(
        &self,
        st: &mut RestState,
        method: &str,
        segs: &[&str],
        query: &str,
        body: &Value,
        files: &[FilePart],
    ) -> Reply {
        let fx = &self.0.fixture;
        let bot = fx.bot_user_id;
        match (method, segs) {
            ("GET", ["gateway"]) => ok(json!({"url": self.gateway_url()})),
            ("GET", ["gateway", "bot"]) => ok(json!({
                "url": self.gateway_url(), "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1},
            })),
            ("GET", ["users", "@me"]) => ok(self.bot_user()),
            ("GET", ["users", u]) => self
                .user_json(id_of(u))
                .map_or_else(|| err(404, 10013, "Unknown User"), ok),
            ("POST", ["users", "@me", "channels"]) => {
                let user = body["recipient_id"]
                    .as_str()
                    .map(id_of)
                    .or(body["recipient_id"].as_u64())
                    .unwrap_or(0);
                let id = self.dm_channel_in(st, user);
                ok(st.channels[&id].clone())
            }
            ("GET", ["oauth2", "applications", "@me"]) => {
                let owner = self
                    .user_json(fx.owner_id)
                    .unwrap_or_else(|| user_obj(fx.owner_id, "owner", false));
                ok(json!({
                    "id": fx.application_id.to_string(), "name": fx.bot_name, "icon": null,
                    "description": "", "type": null, "bot": self.bot_user(), "bot_public": false,
                    "bot_require_code_grant": false, "verify_key": "0".repeat(64), "flags": 0,
                    "owner": owner, "team": null, "redirect_uris": [], "interactions_endpoint_url": null,
                    "role_connections_verification_url": null, "tags": [],
                }))
            }

            // Application commands: Discord keeps ids stable per (scope, name).
            ("PUT", ["applications", _, "commands"]) => self.put_commands(st, None, body, true),
            ("PUT", ["applications", _, "guilds", g, "commands"]) => {
                self.put_commands(st, Some(id_of(g)), body, true)
            }
            ("POST", ["applications", _, "commands"]) => {
                self.put_commands(st, None, &json!([body]), false)
            }
            ("POST", ["applications", _, "guilds", g, "commands"]) => {
                self.put_commands(st, Some(id_of(g)), &json!([body]), false)
            }
            ("GET", ["applications", _, "commands"]) => self.list_commands(st, None),
            ("GET", ["applications", _, "guilds", g, "commands"]) => {
                self.list_commands(st, Some(id_of(g)))
            }

            // Interactions and their webhooks.
            ("POST", ["interactions", id, token, "callback"]) => {
                self.callback(st, id_of(id), token, body, files)
            }
            ("POST", ["webhooks", app, token]) => {
                let Some(ix) = self.acked_interaction(st, app, token) else {
                    return unknown_webhook();
                };
                if let Some(refused) = invalid_message(body) {
                    return refused;
                }
                ok(self.store_message(st, ix.channel_id, body, files, 0))
            }
            (m, ["webhooks", app, token, "messages", mid]) => {
                let Some(ix) = self.acked_interaction(st, app, token) else {
                    return unknown_webhook();
                };
                let id = if *mid == "@original" {
                    ix.original
                } else {
                    Some(id_of(mid))
                };
                let Some(id) = id.filter(|id| st.messages.contains_key(id)) else {
                    return unknown_message();
                };
                self.message_op(st, m, id, body, files)
            }

            // Messages.
            ("POST", ["channels", c, "messages"]) if st.channels.contains_key(&id_of(c)) => {
                if let Some(refused) = invalid_message(body) {
                    return refused;
                }
                // Posting unarchives an archived thread, unless it is also locked.
                let thread = st.channels.get_mut(&id_of(c)).expect("checked");
                match thread_flags(thread) {
                    Some((true, true)) => return thread_archived(),
                    Some((true, false)) => set_archived(thread, false),
                    _ => {}
                }
                ok(self.store_message(st, id_of(c), body, files, 0))
            }
            ("GET", ["channels", c, "messages"]) if st.channels.contains_key(&id_of(c)) => {
                list_messages(st, id_of(c), query)
            }
            (m, ["channels", c, "messages", mid]) if st.channels.contains_key(&id_of(c)) => {
                let here = st
                    .messages
                    .get(&id_of(mid))
                    .is_some_and(|msg| msg["channel_id"] == *c);
                let archived = thread_flags(&st.channels[&id_of(c)]).is_some_and(|(a, _)| a);
                if !here {
                    unknown_message()
                } else if m == "PATCH" && archived {
                    thread_archived() // archived threads are read-only but for deletions
                } else {
                    self.message_op(st, m, id_of(mid), body, files)
                }
            }
            ("POST", ["channels", c, "typing"]) if st.channels.contains_key(&id_of(c)) => {
                no_content()
            }

            // Channels and threads.
            ("GET", ["channels", c]) => st
                .channels
                .get(&id_of(c))
                .cloned()
                .map_or_else(unknown_channel, ok),
            ("PATCH", ["channels", c]) => {
                let Some(ch) = st.channels.get_mut(&id_of(c)) else {
                    return unknown_channel();
                };
                if let Some(refused) = invalid_channel_edit(ch, body) {
                    return refused;
                }
                edit_channel(ch, body);
                ok(ch.clone())
            }
            ("DELETE", ["channels", c]) => st
                .channels
                .remove(&id_of(c))
                .map_or_else(unknown_channel, ok),
            ("POST", ["channels", c, "threads"]) => {
                let Some(parent) = st.channels.get(&id_of(c)).cloned() else {
                    return unknown_channel();
                };
                if let Some(refused) = invalid_thread(body) {
                    return refused;
                }
                let kind = body["type"].as_u64().unwrap_or(12);
                ok(self.create_thread(st, self.new_id(), &parent, body, kind))
            }
            ("POST", ["channels", c, "messages", mid, "threads"]) => {
                let Some(parent) = st.channels.get(&id_of(c)).cloned() else {
                    return unknown_channel();
                };
                if !st.messages.contains_key(&id_of(mid)) {
                    return unknown_message();
                }
                if let Some(refused) = invalid_thread(body) {
                    return refused;
                }
                // A thread started from a message has the message's id.
                let kind = if parent["type"] == 5 { 10 } else { 11 };
                ok(self.create_thread(st, id_of(mid), &parent, body, kind))
            }
            (m @ ("PUT" | "DELETE"), ["channels", t, "thread-members", u]) => {
                match st.channels.get(&id_of(t)).and_then(thread_flags) {
                    None => return unknown_channel(),
                    Some((true, _)) => return thread_archived(),
                    Some((false, _)) => {}
                }
                let user = if *u == "@me" { bot } else { id_of(u) };
                let members = st.thread_members.entry(id_of(t)).or_default();
                if m == "PUT" {
                    members.insert(user);
                } else {
                    members.remove(&user);
                }
                no_content()
            }
            ("GET", ["channels", t, "thread-members"]) => {
                let ids = st
                    .thread_members
                    .get(&id_of(t))
                    .cloned()
                    .unwrap_or_default();
                let list: Vec<Value> = ids
                    .iter()
                    .map(|u| json!({"id": t, "user_id": u.to_string(), "join_timestamp": TS, "flags": 0}))
                    .collect();
                ok(list.into())
            }

            // Guilds.
            ("GET", ["guilds", g]) => fx
                .find_guild(id_of(g))
                .map_or_else(|| err(404, 10004, "Unknown Guild"), |g| ok(guild_json(g))),
            ("GET", ["guilds", g, "channels"]) => {
                let list: Vec<Value> = st
                    .channels
                    .values()
                    .filter(|c| c["guild_id"] == *g)
                    .cloned()
                    .collect();
                ok(list.into())
            }
            ("GET", ["guilds", g, "threads", "active"]) => {
                let mut threads: Vec<&Value> = st
                    .channels
                    .values()
                    .filter(|c| c["guild_id"] == *g && thread_flags(c).is_some_and(|(a, _)| !a))
                    .collect();
                threads.sort_by_key(|t| msg_id(t));
                ok(json!({"threads": threads, "members": []}))
            }
            ("GET", ["guilds", g, "roles"]) => match fx.find_guild(id_of(g)) {
                Some(g) => ok(g
                    .roles
                    .iter()
                    .enumerate()
                    .map(|(i, r)| role_json(r, i))
                    .collect()),
                None => err(404, 10004, "Unknown Guild"),
            },
            ("GET", ["guilds", g, "members", u]) => {
                let g = fx.find_guild(id_of(g));
                match g.and_then(|g| g.find_member(id_of(u)).map(|m| (g, m))) {
                    Some((g, m)) => ok(self.member_json(g, m, true)),
                    None => err(404, 10007, "Unknown Member"),
                }
            }

            // Scheduled events.
            ("POST", ["guilds", g, "scheduled-events"]) => {
                let active = st.events.values().filter(|e| e["guild_id"] == *g);
                let active = active.filter(|e| e["status"] == 1 || e["status"] == 2);
                if active.count() >= MAX_ACTIVE_EVENTS {
                    let msg = "Maximum number of guild scheduled events reached";
                    return err(400, 30038, msg);
                }
                let id = self.new_id();
                let mut ev = json!({
                    "id": id.to_string(), "guild_id": g, "channel_id": null, "creator_id": bot.to_string(),
                    "creator": self.bot_user(), "name": "", "description": null, "image": null,
                    "scheduled_start_time": null, "scheduled_end_time": null, "privacy_level": 2,
                    "status": 1, "entity_type": 3, "entity_id": null, "entity_metadata": null,
                    "user_count": 0, "recurrence_rule": null, "guild_scheduled_event_exceptions": [],
                });
                merge(&mut ev, body);
                if !valid_event(&ev) {
                    return invalid_form_body();
                }
                st.events.insert(id, ev.clone());
                ok(ev)
            }
            ("GET", ["guilds", g, "scheduled-events"]) => {
                let list: Vec<Value> = st
                    .events
                    .values()
                    .filter(|e| e["guild_id"] == *g)
                    .cloned()
                    .collect();
                ok(list.into())
            }
            ("GET", ["guilds", _, "scheduled-events", _, "users"]) => ok(json!([])),
            (m, ["guilds", g, "scheduled-events", e]) => {
                let Some(ev) = st
                    .events
                    .get_mut(&id_of(e))
                    .filter(|ev| ev["guild_id"] == *g)
                else {
                    return err(404, 10070, "Unknown Guild Scheduled Event");
                };
                match m {
                    "GET" => ok(ev.clone()),
                    "PATCH" => {
                        if let Some(refused) = invalid_event_edit(ev, body) {
                            return refused;
                        }
                        merge(ev, body);
                        ok(ev.clone())
                    }
                    "DELETE" => {
                        st.events.remove(&id_of(e));
                        no_content()
                    }
                    _ => err(405, 0, "405: Method Not Allowed"),
                }
            }
            (_, ["channels", c, ..]) if !st.channels.contains_key(&id_of(c)) => unknown_channel(),
            _ => err(404, 0, "Unknown route"),
        }
    }

    fn dm_channel_in(&self, st: &mut RestState, user_id: u64) -> u64 {
        if let Some(id) = st.dm_channels.get(&user_id) {
            return *id;
        }
        let id = self.new_id();
        let user = self
            .user_json(user_id)
            .unwrap_or_else(|| user_obj(user_id, &format!("user{user_id}"), false));
        let dm = json!({"id": id.to_string(), "type": 1, "last_message_id": null, "flags": 0, "recipients": [user]});
        st.channels.insert(id, dm);
        st.dm_channels.insert(user_id, id);
        id
    }

    fn put_commands(
        &self,
        st: &mut RestState,
        guild: Option<u64>,
        body: &Value,
        replace: bool,
    ) -> Reply {
        if replace {
            st.commands.retain(|(g, _), _| *g != guild);
        }
        let mut out = vec![];
        for cmd in body.as_array().into_iter().flatten() {
            let name = cmd["name"].as_str().unwrap_or_default().to_string();
            let id = *st
                .commands
                .entry((guild, name.clone()))
                .or_insert_with(|| self.new_id());
            let mut c = json!({
                "id": id.to_string(), "application_id": self.0.fixture.application_id.to_string(),
                "version": id.to_string(), "default_member_permissions": null, "type": 1,
                "name": name, "description": "", "options": [], "nsfw": false,
                "integration_types": [0], "contexts": null,
            });
            merge(&mut c, cmd);
            if let Some(g) = guild {
                c["guild_id"] = g.to_string().into();
            }
            out.push(c);
        }
        st.registered.insert(guild, out.clone());
        if replace {
            ok(out.into())
        } else {
            Reply {
                status: 201,
                ..ok(out[0].clone())
            }
        }
    }

    fn list_commands(&self, st: &RestState, guild: Option<u64>) -> Reply {
        ok(st
            .registered
            .get(&guild)
            .cloned()
            .unwrap_or_default()
            .into())
    }

    /// Registered commands (the last PUT) for a guild, or global ones for `None`.
    pub fn registered_commands(&self, guild: Option<u64>) -> Vec<Value> {
        self.state()
            .registered
            .get(&guild)
            .cloned()
            .unwrap_or_default()
    }

    fn callback(
        &self,
        st: &mut RestState,
        id: u64,
        token: &str,
        body: &Value,
        files: &[FilePart],
    ) -> Reply {
        let Some(mut ix) = st.interactions.get(token).cloned().filter(|ix| ix.id == id) else {
            return err(404, 10062, "Unknown interaction");
        };
        if ix.acked {
            return err(400, 40060, "Interaction has already been acknowledged.");
        }
        if ix.dispatched.elapsed() > st.interaction_deadline {
            st.late_callbacks += 1;
            return err(404, 10062, "Unknown interaction");
        }
        let data = &body["data"];
        let carries_message = matches!(body["type"].as_u64(), Some(4 | 7));
        if let Some(refused) = invalid_message(data).filter(|_| carries_message) {
            return refused;
        }
        ix.original = match body["type"].as_u64() {
            Some(4) => Some(msg_id(&self.store_message(
                st,
                ix.channel_id,
                data,
                files,
                20,
            ))),
            Some(5) => {
                let flags = data["flags"].as_u64().unwrap_or(0) | 128; // LOADING
                Some(msg_id(&self.store_message(
                    st,
                    ix.channel_id,
                    &json!({"flags": flags}),
                    &[],
                    20,
                )))
            }
            Some(6) => ix.message_id,
            Some(7) => {
                if let Some(mid) = ix.message_id.filter(|m| st.messages.contains_key(m)) {
                    self.edit_message(st, mid, data, files);
                }
                ix.message_id
            }
            _ => None,
        };
        ix.acked = true;
        st.interactions.insert(token.to_string(), ix);
        no_content()
    }

    /// The interaction of a webhook path, once its initial response went out: Discord knows
    /// no webhook for it before (nor for another application).
    fn acked_interaction(&self, st: &RestState, app: &str, token: &str) -> Option<Ix> {
        let ix = st.interactions.get(token).filter(|ix| ix.acked)?;
        (id_of(app) == self.0.fixture.application_id).then(|| ix.clone())
    }

    fn message_op(
        &self,
        st: &mut RestState,
        method: &str,
        id: u64,
        body: &Value,
        files: &[FilePart],
    ) -> Reply {
        match method {
            "GET" => ok(st.messages[&id].clone()),
            "PATCH" => match invalid_message(body) {
                Some(refused) => refused,
                None => ok(self.edit_message(st, id, body, files)),
            },
            "DELETE" => {
                st.messages.remove(&id);
                no_content()
            }
            _ => err(405, 0, "405: Method Not Allowed"),
        }
    }

    /// A Message authored by the bot, echoing the request's content/embeds/components/flags.
    fn message_json(&self, id: u64, channel: u64, body: &Value, kind: u8) -> Value {
        let mut m = json!({
            "id": id.to_string(), "channel_id": channel.to_string(), "author": self.bot_user(),
            "content": "", "timestamp": now(), "edited_timestamp": null, "tts": false,
            "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
            "embeds": [], "components": [], "pinned": false, "type": kind, "flags": 0,
        });
        if kind == 20 {
            m["application_id"] = self.0.fixture.application_id.to_string().into();
            m["webhook_id"] = m["application_id"].clone();
        }
        if body.get("message_reference").is_some() {
            m["type"] = 19.into();
        }
        for key in [
            "content",
            "embeds",
            "components",
            "flags",
            "tts",
            "message_reference",
        ] {
            if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
                m[key] = v.clone();
            }
        }
        for e in m["embeds"].as_array_mut().into_iter().flatten() {
            if let Some(e) = e.as_object_mut() {
                e.entry("type").or_insert("rich".into());
            }
        }
        m
    }

    /// Stores a new bot message (attachments from the multipart files) and returns it.
    fn store_message(
        &self,
        st: &mut RestState,
        channel: u64,
        body: &Value,
        files: &[FilePart],
        kind: u8,
    ) -> Value {
        let id = self.new_id();
        let mut m = self.message_json(id, channel, body, kind);
        m["attachments"] = self.attachments(channel, body, files, &[]).into();
        if let Some(ch) = st.channels.get_mut(&channel) {
            ch["last_message_id"] = id.to_string().into();
        }
        st.messages.insert(id, m.clone());
        m
    }

    fn edit_message(&self, st: &mut RestState, id: u64, body: &Value, files: &[FilePart]) -> Value {
        let msg = st.messages.get_mut(&id).expect("message exists");
        let channel = msg["channel_id"].as_str().map_or(0, id_of);
        let edited = self.message_json(id, channel, body, 0);
        for key in ["content", "embeds", "components", "flags"] {
            if body.get(key).is_some_and(|v| !v.is_null()) {
                msg[key] = edited[key].clone();
            }
        }
        if body.get("attachments").is_some() {
            let old = msg["attachments"].as_array().cloned().unwrap_or_default();
            msg["attachments"] = self.attachments(channel, body, files, &old).into();
        }
        let flags = msg["flags"].as_u64().unwrap_or(0) & !128; // an edit ends "thinking…"
        msg["flags"] = flags.into();
        msg["edited_timestamp"] = now().into();
        msg.clone()
    }

    /// `payload_json.attachments`: new uploads (`filename` set, `id` = file index) become
    /// Attachment objects; others keep existing attachments by id.
    fn attachments(
        &self,
        channel: u64,
        body: &Value,
        files: &[FilePart],
        old: &[Value],
    ) -> Vec<Value> {
        let mut out = vec![];
        for a in body["attachments"].as_array().into_iter().flatten() {
            let idx = a["id"]
                .as_u64()
                .or_else(|| a["id"].as_str().and_then(|s| s.parse().ok()));
            if let Some(filename) = a["filename"].as_str() {
                let file = files.iter().find(|f| {
                    Some(f.name.as_str()) == idx.map(|i| format!("files[{i}]")).as_deref()
                });
                let id = self.new_id();
                let url =
                    format!("https://cdn.discordapp.com/attachments/{channel}/{id}/{filename}");
                out.push(json!({
                    "id": id.to_string(), "filename": filename, "size": file.map_or(0, |f| f.data.len()),
                    "url": url, "proxy_url": url, "description": a["description"],
                }));
            } else if let Some(prev) = old
                .iter()
                .find(|o| o["id"] == a["id"] || Some(o["id"].as_str().map_or(0, id_of)) == idx)
            {
                out.push(prev.clone());
            }
        }
        out
    }

    fn create_thread(
        &self,
        st: &mut RestState,
        id: u64,
        parent: &Value,
        body: &Value,
        kind: u64,
    ) -> Value {
        let ts = now();
        let mut meta = json!({
            "archived": false, "auto_archive_duration": body["auto_archive_duration"].as_u64().unwrap_or(1440),
            "archive_timestamp": ts, "locked": false, "create_timestamp": ts,
        });
        if kind == 12 {
            meta["invitable"] = body["invitable"].as_bool().unwrap_or(true).into();
        }
        let thread = json!({
            "id": id.to_string(), "type": kind, "guild_id": parent["guild_id"], "parent_id": parent["id"],
            "name": body["name"], "owner_id": self.0.fixture.bot_user_id.to_string(),
            "last_message_id": null, "flags": 0, "rate_limit_per_user": body["rate_limit_per_user"].as_u64().unwrap_or(0),
            "message_count": 0, "member_count": 1, "total_message_sent": 0, "thread_metadata": meta,
        });
        st.channels.insert(id, thread.clone());
        st.thread_members
            .entry(id)
            .or_default()
            .insert(self.0.fixture.bot_user_id);
        thread
    }
}
