//! Email notifications: rendering (minijinja), calendar invitations
//! (icalendar) and delivery (lettre SMTP pool, or `.eml` files).
//!
//! Depends only on the domain (`NoticeKind`, a masterclass's calendar event) and `config::Secret`.

mod ics;
mod mailer;
mod templates;

pub use ics::{calendar_of, masterclass_ics, IcsEvent, IcsMethod};
pub use mailer::{
    CalendarAttachment, EmailSettings, Mailer, OutgoingEmail, Secret, SendError, SmtpSecurity,
};
pub use templates::{
    format_duration, format_local_start, format_utc_start, render, EmailNotice, MasterclassView,
    NoticeKind, RenderedEmail,
};
