//! The notification worker's [`DiscordPort`], with serenity's HTTP routes and builders.
//!
//! - Requests go out through a [`DiscordPacer`] (≈ 50 requests/s for the whole process, as
//!   Discord's global limit wants) and a 429 is answered by waiting its Retry-After: all requests
//!   wait for a global one, the worker postpones the notification for a per-route one.
//! - Requests are sent by our own HTTP client from serenity's [`Request`]s, because serenity
//!   without its ratelimiter (always the case behind a proxy) drops the rate-limit headers of a
//!   429. The token and proxy are the serenity [`Http`]'s.
//! - DM channels are cached (one DM costs one request), and so are display names; a member who
//!   refused a DM is not asked again for a while, as Discord bans bots that keep hitting refusals.
//!   Each of these caches holds at most [`MEMBERS_REMEMBERED`] entries (least recently used out).
//! - Every message sets `allowed_mentions` to exactly the users it means to ping.

use super::cache::BoundedMap;
use crate::domain::{ChannelId, GuildId, UserId};
use crate::notify::{DiscordError, DiscordMessage, DiscordPort};
use serde_json::{json, Value};
use serenity::all as discord;
use serenity::builder::{CreateAllowedMentions, CreateMessage};
use serenity::http::{Http, LightMethod, Request, Route};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Names change rarely; a member's rename shows up in notifications within this time.
const NAME_TTL: Duration = Duration::from_secs(60 * 60);
/// How long a refused DM is taken as the member's answer before asking Discord again.
const CLOSED_DMS_TTL: Duration = Duration::from_secs(60 * 60);
/// Entries of each member cache: a large community's active members, a few MB at most.
pub const MEMBERS_REMEMBERED: usize = 10_000;
/// When a 429 says nothing about how long to wait.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// How a REST call to Discord failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum RestError {
    #[error("rate limited by Discord (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration },
    /// Network trouble or a 5xx answer.
    #[error("Discord is unreachable: {0}")]
    Transient(String),
    /// Discord answered no, with its JSON error code (50083: thread archived, 10008: unknown
    /// message, 50013: missing permissions…).
    #[error("Discord refused: {}", self.detail())]
    Refused {
        status: u16,
        code: i64,
        message: String,
    },
}

impl RestError {
    /// "404: Unknown Message (code 10008)".
    fn detail(&self) -> String {
        match self {
            RestError::Refused {
                status,
                code,
                message,
            } => format!("{status}: {message} (code {code})"),
            other => other.to_string(),
        }
    }

    pub fn code(&self) -> Option<i64> {
        match self {
            RestError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl From<RestError> for DiscordError {
    fn from(error: RestError) -> Self {
        match error {
            RestError::RateLimited { retry_after } => DiscordError::RateLimited { retry_after },
            RestError::Transient(why) => DiscordError::Transient(why),
            RestError::Refused {
                status: 403,
                code: 50007,
                ..
            } => DiscordError::DmsClosed,
            // A bad token: an admin can fix it, the notification should wait.
            refused @ RestError::Refused { status: 401, .. } => {
                DiscordError::Transient(refused.detail())
            }
            refused => DiscordError::Permanent(refused.detail()),
        }
    }
}

/// Spaces requests to Discord evenly. Clone it to share one budget across the process.
#[derive(Clone, Debug)]
pub struct DiscordPacer {
    interval: Duration,
    next_slot: Arc<Mutex<Instant>>,
}

impl DiscordPacer {
    /// A little under Discord's global 50 requests/s: requests leave evenly spaced but arrive
    /// with some jitter, and a window that catches 51 of them answers 429.
    pub const DEFAULT_REQUESTS_PER_SECOND: f64 = 48.0;

    pub fn new(requests_per_second: f64) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / requests_per_second.max(0.1)),
            next_slot: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// Waits until this request may go. Turns are taken in order of asking.
    pub async fn wait_turn(&self) {
        let slot = {
            let mut next = self.lock();
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Discord's global limit was hit: no request goes before `wait` has passed.
    pub fn pause(&self, wait: Duration) {
        let mut next = self.lock();
        *next = (*next).max(Instant::now() + wait);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Instant> {
        self.next_slot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for DiscordPacer {
    fn default() -> Self {
        Self::new(Self::DEFAULT_REQUESTS_PER_SECOND)
    }
}

/// Delivers notifications to Discord.
pub struct SerenityDiscord {
    http: Arc<Http>,
    client: reqwest::Client,
    pacer: DiscordPacer,
    /// A DM channel's id never changes: kept until pushed out.
    dm_channels: BoundedMap<UserId, ChannelId>,
    /// Serializes DM channel creation, so two notifications to one member create one channel.
    creating_dm_channel: tokio::sync::Mutex<()>,
    /// Names by server and member for [`NAME_TTL`] (`None`: not a member).
    names: BoundedMap<(GuildId, UserId), Option<String>>,
    /// Members who refused a DM, for [`CLOSED_DMS_TTL`].
    closed_dms: BoundedMap<UserId, ()>,
}

impl SerenityDiscord {
    /// Uses `http`'s token and proxy; `pacer` is the request budget (share it with anything
    /// else that calls Discord in this process).
    pub fn new(http: Arc<Http>, pacer: DiscordPacer) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client with rustls builds");
        Self {
            http,
            client,
            pacer,
            dm_channels: BoundedMap::lru(MEMBERS_REMEMBERED),
            creating_dm_channel: tokio::sync::Mutex::default(),
            names: BoundedMap::new(MEMBERS_REMEMBERED, NAME_TTL),
            closed_dms: BoundedMap::new(MEMBERS_REMEMBERED, CLOSED_DMS_TTL),
        }
    }

    /// Sends one request in its turn; the body of a successful answer.
    async fn call(&self, request: Request<'_>) -> Result<Vec<u8>, DiscordError> {
        self.send(request).await.map_err(DiscordError::from)
    }

    /// Sends one request in its turn (every REST call of the bot but the interaction endpoints
    /// goes through here, so they share one budget); the body of a successful answer.
    pub async fn send(&self, request: Request<'_>) -> Result<Vec<u8>, RestError> {
        let request = request
            .build(&self.client, self.http.token(), self.http.proxy.as_deref())
            .map_err(|e| RestError::Refused {
                status: 0,
                code: 0,
                message: format!("cannot build the request: {e}"),
            })?;
        self.pacer.wait_turn().await;
        let response = request
            .send()
            .await
            .map_err(|e| RestError::Transient(e.to_string()))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| RestError::Transient(e.to_string()))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if status.as_u16() == 429 {
            // The JSON field is exact; the header is rounded up to whole seconds.
            let retry_after = answer["retry_after"]
                .as_f64()
                .or_else(|| header("retry-after")?.parse().ok())
                .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs_f64);
            let global = answer["global"] == true
                || header("x-ratelimit-global").is_some()
                || header("x-ratelimit-scope") == Some("global");
            if global {
                self.pacer.pause(retry_after);
            }
            tracing::debug!(?retry_after, global, "Discord rate limit");
            return Err(RestError::RateLimited { retry_after });
        }
        let code = answer["code"].as_i64().unwrap_or(0);
        let message = answer["message"].as_str().unwrap_or("").to_owned();
        Err(match status.as_u16() {
            // Discord's own trouble: time fixes it.
            408 | 500..=599 => RestError::Transient(format!("{status}: {message} (code {code})")),
            status => RestError::Refused {
                status,
                code,
                message,
            },
        })
    }

    /// Sends a request and reads its JSON answer.
    pub async fn send_json(&self, request: Request<'_>) -> Result<Value, RestError> {
        let body = self.send(request).await?;
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body)
            .map_err(|e| RestError::Transient(format!("unexpected answer from Discord: {e}")))
    }

    async fn dm_channel(&self, user: UserId) -> Result<ChannelId, DiscordError> {
        if let Some(channel) = self.cached_dm_channel(user) {
            return Ok(channel);
        }
        let _creating = self.creating_dm_channel.lock().await;
        if let Some(channel) = self.cached_dm_channel(user) {
            return Ok(channel);
        }
        let body = json!({ "recipient_id": user.to_string() }).to_string();
        let request =
            Request::new(Route::UserMeDmChannels, LightMethod::Post).body(Some(body.into_bytes()));
        let answer: Value = serde_json::from_slice(&self.call(request).await?)
            .map_err(|e| DiscordError::Transient(format!("unexpected DM channel: {e}")))?;
        let channel = answer["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .map(ChannelId)
            .ok_or_else(|| DiscordError::Transient(format!("DM channel without id: {answer}")))?;
        self.dm_channels.insert(user, channel);
        Ok(channel)
    }

    fn cached_dm_channel(&self, user: UserId) -> Option<ChannelId> {
        self.dm_channels.get(&user)
    }

    fn refused_dms_lately(&self, user: UserId) -> bool {
        self.closed_dms.get(&user).is_some()
    }

    async fn post(&self, channel: ChannelId, message: &DiscordMessage) -> Result<(), DiscordError> {
        // Exactly these users may be pinged: no roles, no @everyone/@here, whatever the text says.
        let mentions = CreateAllowedMentions::new()
            .users(message.mentions.iter().map(|u| discord::UserId::new(u.0)))
            .empty_roles();
        let create = CreateMessage::new()
            .content(message.content.as_str())
            .allowed_mentions(mentions);
        let body = serde_json::to_vec(&create)
            .map_err(|e| DiscordError::Permanent(format!("cannot encode the message: {e}")))?;
        let route = Route::ChannelMessages {
            channel_id: discord::ChannelId::new(channel.0),
        };
        self.call(Request::new(route, LightMethod::Post).body(Some(body)))
            .await
            .map(drop)
    }
}

impl DiscordPort for SerenityDiscord {
    async fn send_dm(&self, user: UserId, message: &DiscordMessage) -> Result<(), DiscordError> {
        if self.refused_dms_lately(user) {
            return Err(DiscordError::DmsClosed);
        }
        let channel = self.dm_channel(user).await?;
        let sent = self.post(channel, message).await;
        match &sent {
            Err(DiscordError::DmsClosed) => {
                self.closed_dms.insert(user, ());
            }
            // The DM channel is gone: make a new one next time.
            Err(DiscordError::Permanent(_)) => {
                self.dm_channels.remove(&user);
            }
            _ => {}
        }
        sent
    }

    async fn send_to_channel(
        &self,
        channel: ChannelId,
        message: &DiscordMessage,
    ) -> Result<(), DiscordError> {
        self.post(channel, message).await
    }

    async fn display_name(&self, guild: GuildId, user: UserId) -> Option<String> {
        if let Some(name) = self.names.get(&(guild, user)) {
            return name;
        }
        let route = Route::GuildMember {
            guild_id: discord::GuildId::new(guild.0),
            user_id: discord::UserId::new(user.0),
        };
        let name = match self.call(Request::new(route, LightMethod::Get)).await {
            Ok(body) => serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|member| display_name_of(&member)),
            // Not a member (any more): remember that too.
            Err(DiscordError::Permanent(_)) => None,
            Err(error) => {
                tracing::debug!(%error, %user, "display name unavailable for now");
                return None;
            }
        };
        self.names.insert((guild, user), name.clone());
        name
    }
}

/// The name a server shows: the nickname, else the global display name, else the username.
fn display_name_of(member: &Value) -> Option<String> {
    [
        &member["nick"],
        &member["user"]["global_name"],
        &member["user"]["username"],
    ]
    .into_iter()
    .filter_map(Value::as_str)
    .map(str::trim)
    .find(|name| !name.is_empty())
    .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_prefer_the_nickname() {
        let member = json!({"nick": null, "user": {"global_name": "Ada L.", "username": "ada"}});
        assert_eq!(display_name_of(&member).as_deref(), Some("Ada L."));
        let member =
            json!({"nick": "Countess", "user": {"global_name": "Ada L.", "username": "ada"}});
        assert_eq!(display_name_of(&member).as_deref(), Some("Countess"));
        assert_eq!(display_name_of(&json!({})), None);
    }

    #[tokio::test]
    async fn the_pacer_spaces_requests_and_pauses() {
        let pacer = DiscordPacer::new(1000.0);
        let start = Instant::now();
        for _ in 0..5 {
            pacer.wait_turn().await;
        }
        assert!(start.elapsed() >= Duration::from_millis(4));
        pacer.pause(Duration::from_millis(50));
        pacer.wait_turn().await;
        assert!(start.elapsed() >= Duration::from_millis(54));
    }
}
