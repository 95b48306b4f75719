//! The two ways out of the worker: Discord (DMs and thread messages) and email. The worker knows
//! only these traits; `crate::discord::delivery` implements Discord with serenity, and the
//! [`Mailer`] implements email.

use crate::calendar::IcsMethod;
use crate::domain::{ChannelId, GuildId, UserId};
use std::future::Future;
use std::time::Duration;

/// A Discord message as the worker means it: the text and exactly who it may ping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscordMessage {
    /// At most 2000 characters (the texts module makes sure of it).
    pub content: String,
    /// The only users the message may ping. Never roles, @everyone or @here, whatever the
    /// content says: an implementation sends `allowed_mentions` with these users and nothing else.
    pub mentions: Vec<UserId>,
}

impl DiscordMessage {
    /// A message that pings nobody.
    pub fn quiet(content: String) -> Self {
        Self {
            content,
            mentions: Vec::new(),
        }
    }
}

/// Why Discord did not take a message, and what the worker should do about it.
#[derive(Clone, Debug, thiserror::Error)]
pub enum DiscordError {
    /// 403 with code 50007: the member does not accept DMs from the bot. Not retried.
    #[error("the member does not accept DMs from the bot")]
    DmsClosed,
    /// 429: try again once `retry_after` has passed.
    #[error("rate limited by Discord (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration },
    /// Network trouble or a 5xx answer: retry with backoff.
    #[error("Discord is unreachable: {0}")]
    Transient(String),
    /// Discord refused for good (unknown channel, missing access…): retrying will not help.
    #[error("Discord refused: {0}")]
    Permanent(String),
}

/// Discord as the worker needs it.
///
/// The futures are `Send` so the worker can run in a spawned task.
pub trait DiscordPort: Send + Sync {
    /// Sends a direct message to a member.
    fn send_dm(
        &self,
        user: UserId,
        message: &DiscordMessage,
    ) -> impl Future<Output = Result<(), DiscordError>> + Send;

    /// Posts a message in a channel or thread.
    fn send_to_channel(
        &self,
        channel: ChannelId,
        message: &DiscordMessage,
    ) -> impl Future<Output = Result<(), DiscordError>> + Send;

    /// The member's name as the server shows it; `None` when it cannot be found out.
    fn display_name(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> impl Future<Output = Option<String>> + Send;
}

/// A shared port is the port (the app shares one Discord client between its workers).
impl<T: DiscordPort> DiscordPort for std::sync::Arc<T> {
    fn send_dm(
        &self,
        user: UserId,
        message: &DiscordMessage,
    ) -> impl Future<Output = Result<(), DiscordError>> + Send {
        (**self).send_dm(user, message)
    }

    fn send_to_channel(
        &self,
        channel: ChannelId,
        message: &DiscordMessage,
    ) -> impl Future<Output = Result<(), DiscordError>> + Send {
        (**self).send_to_channel(channel, message)
    }

    fn display_name(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> impl Future<Output = Option<String>> + Send {
        (**self).display_name(guild, user)
    }
}

/// Email as the worker needs it.
pub trait EmailPort: Send + Sync {
    fn send(&self, email: &OutgoingEmail) -> impl Future<Output = Result<(), SendError>> + Send;

    /// The address emails come from: calendar invitations name it as their organizer.
    fn sender_address(&self) -> String;
}

/// One email to one recipient.
#[derive(Clone, Debug)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub calendar: Option<CalendarAttachment>,
}

/// An iCalendar object sent with the email.
#[derive(Clone, Debug)]
pub struct CalendarAttachment {
    pub method: IcsMethod,
    pub ics: String,
}

/// Why an email was not delivered, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Connection refused, timeouts, 4xx replies, an unusable outbox directory,
    /// rejected SMTP credentials: retry later.
    #[error("temporary email failure (retry later): {0}")]
    Transient(String),
    /// 5xx replies or an address that cannot be used: retrying will not help.
    #[error("permanent email failure: {0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient(_))
    }
}
