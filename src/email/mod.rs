//! Email delivery: SMTP through lettre's pooled transport, or `.eml` files in a folder when no
//! SMTP server is configured. Implements the notification worker's [`crate::notify::EmailPort`];
//! what the emails say lives with the notifications (`crate::notify::templates`).

mod mailer;

pub use mailer::Mailer;
