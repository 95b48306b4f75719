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
    /// A member who asked to be forgotten: their id was replaced by a [`Tombstone`].
    pub fn is_forgotten(self) -> bool {
        self.0 > i64::MAX as u64
    }
}

/// How a forgotten member is written wherever they would be named or mentioned.
pub const FORMER_MEMBER: &str = "a former member";

/// What stands where a forgotten member's id was: a negative number, so never a Discord id,
/// one per forgotten member. Stored as that number; read back as a user id, it is a value above
/// `i64::MAX` (see [`UserId::is_forgotten`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tombstone(i64);

impl Tombstone {
    /// The tombstone numbered `n` (a positive number, such as a log entry's id).
    pub fn numbered(n: i64) -> Tombstone {
        Tombstone(-n.abs())
    }

    /// The number stored in its place.
    pub fn get(self) -> i64 {
        self.0
    }

    /// The tombstone where a user id is expected (bit for bit, as ids are stored).
    pub fn as_user(self) -> UserId {
        UserId(self.0 as u64)
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
