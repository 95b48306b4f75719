//! Use cases: one transaction each, the notifications they cause written in the same transaction.
//! The caller and `now` are arguments; nothing here knows about Discord or email.

mod deliveries;
mod masterclasses;
mod notices;
mod privacy;
mod settings;

pub use deliveries::{describe, describe_sync, DeliveryProblem, SyncProblem};

pub use masterclasses::{
    EditOutcome, HostRequest, Hosted, JoinOutcome, LeaveOutcome, MasterclassEdit, Participants,
    Session, SessionFilter, SessionRole,
};
pub use privacy::{Forgotten, MemberData, Retention};
pub use settings::GuildSettingsChange;

use crate::domain::UserError;
pub use crate::domain::{Counts, ParticipantStatus};
use crate::store::Db;

/// What a use case can fail with: a refusal the user reads, or a fault we log.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    User(#[from] UserError),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        Error::Internal(error.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The use cases of masterclass-bot over one database.
#[derive(Clone, Debug)]
pub struct Service {
    db: Db,
    /// How long after telling a host of a join further sign-up changes are gathered into one
    /// message; zero tells every join at once.
    host_digest: chrono::Duration,
}

impl Service {
    /// Every join is told to the host at once, until [`Service::with_host_digest`] says otherwise.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            host_digest: chrono::Duration::zero(),
        }
    }

    /// Gathers the sign-up changes that follow a join told to its host into one message per
    /// `window` (`notifications.host_digest_minutes`).
    pub fn with_host_digest(self, window: chrono::Duration) -> Self {
        Self {
            host_digest: window.max(chrono::Duration::zero()),
            ..self
        }
    }
}
