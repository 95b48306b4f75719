use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! snowflake {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}

snowflake!(
    /// A Discord server.
    GuildId,
    /// A Discord user.
    UserId,
    /// A role in a server.
    RoleId,
    /// A channel (text, voice, stage or thread).
    ChannelId,
);

impl UserId {
    /// A member who asked to be forgotten: their id was replaced by a tombstone, stored as a
    /// negative number (never a Discord id), which reads back as a value above `i64::MAX`.
    pub fn is_forgotten(self) -> bool {
        self.0 > i64::MAX as u64
    }
}

impl GuildId {
    /// No server: what a member asks for in a DM with the bot (0 is never a Discord id).
    pub const NONE: GuildId = GuildId(0);
}

/// Our own id of a masterclass (a database row id, not a Discord snowflake).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MasterclassId(pub i64);

impl fmt::Display for MasterclassId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
