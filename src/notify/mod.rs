//! Delivery of the outbox: every notification the use cases wrote reaches its member by DM,
//! email or a message in the masterclass thread, durably.
//!
//! - [`Worker::step`] claims the rows due at `now`, checks they still matter, sends them and
//!   records the outcome of each as soon as it is known; [`Worker::run`] repeats that until shut
//!   down. Email and Discord are delivered side by side ("lanes"), so a rate-limited Discord never
//!   holds up email.
//! - A claim counts the attempt before anything is sent, so a crash between sending and recording
//!   costs at most one duplicate of each notification then in flight, never a retry loop.
//! - Failures are retried with exponential backoff and jitter; Discord's rate limits are waited
//!   out without counting as attempts. A row is retried for a time, not a number of attempts:
//!   `give_up_after` (`notifications.give_up_after_hours`) from its first failed attempt, rate
//!   limits included, it is given up with its last error, which admins see through
//!   `Service::delivery_problems`. So an SMTP server down for hours loses nothing, and a route
//!   Discord rate-limits for ever still ends in the report.
//!
//! Nothing here knows serenity or lettre: the worker talks to the [`DiscordPort`] and the
//! [`EmailPort`].
//!
//! Wiring: `crate::app::App` builds one worker per database and owns its task (a worker that
//! stops on its own stops the app, so it is restarted and resumes from the outbox).

mod deliver;
mod emails;
mod ports;
pub mod templates;
pub mod texts;
mod worker;

pub use ports::{
    CalendarAttachment, DiscordError, DiscordMessage, DiscordPort, EmailPort, OutgoingEmail,
    SendError,
};
pub use worker::{StepReport, Worker, WorkerSettings};
