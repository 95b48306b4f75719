//! The rules of a masterclass: value types and checks. Pure: no I/O, no Discord, `now` is passed in.

mod digest;
mod error;
mod ids;
mod masterclass;
mod notification;
mod settings;
mod text;

pub use digest::{
    ensure_not_flapping, fold_change, HostDigest, Seat, SeatChange, MAX_SIGN_UP_CHANGES,
    SIGN_UP_CHANGES_WINDOW_SECONDS,
};
pub use error::UserError;
pub use ids::{ChannelId, GuildId, MasterclassId, RoleId, Tombstone, UserId, FORMER_MEMBER};
pub use masterclass::{
    Capacity, Counts, DiscordIds, Duration, Guests, Location, Masterclass, MasterclassStatus,
    NewMasterclass, ParticipantStatus, Phase, RepeatedTime, StartTime, MAX_GUESTS,
};
pub use notification::{Channel, NoticeKind};
pub use settings::{
    hash_code, EmailAddress, GuildSettings, MemberSettings, ReminderOffsets, TimeZone,
    VerificationCode, CODE_LIFETIME_MINUTES, MAX_CODES_PER_HOUR, MAX_CODE_FAILURES,
};
pub use text::{plural, truncate, CancelReason, Description, SupportText, Title};

/// Who is asking. Authorization is decided by the use cases from this, never by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub guild_id: GuildId,
    pub user_id: UserId,
    pub role_ids: Vec<RoleId>,
    /// Holds Manage Server (or Administrator) in this guild.
    pub is_admin: bool,
}

impl Caller {
    pub fn has_role(&self, role: RoleId) -> bool {
        self.role_ids.contains(&role)
    }
}
