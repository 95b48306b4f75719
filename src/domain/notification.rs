use serde::{Deserialize, Serialize};

/// How a notification reaches people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Dm,
    Email,
    /// A message in the masterclass thread (no single recipient).
    Thread,
}

/// What happened. The stored form is the snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// To the host: someone joined. Told at once when the host has heard nothing from us for a
    /// while; otherwise the join goes into the window's `HostDigest`.
    Joined,
    /// To the host: the sign-up changes of a window after a join they were told of at once,
    /// in one message (`HostDigest` is the payload).
    HostDigest,
    /// To the joiner: you're attending (or waitlisted).
    JoinConfirmed,
    /// To a guest: the host invited you, you're attending.
    GuestAdded,
    /// To a waitlisted member who got a seat.
    Promoted,
    /// To everyone signed up, with the host's reason; and to the thread.
    Cancelled,
    /// Before the start, to attendees; and to the thread.
    Reminder,
    /// At the start, to the thread, with the location.
    Starting,
    /// To a member the host removed.
    Removed,
    /// To attendees when the title or location changed.
    DetailsChanged,
    /// The email verification code, to the pending address.
    VerificationCode,
}

macro_rules! str_forms {
    ($ty:ty { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }
            pub fn from_stored(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

str_forms!(Channel { Dm => "dm", Email => "email", Thread => "thread" });
str_forms!(NoticeKind {
    Joined => "joined",
    HostDigest => "host_digest",
    JoinConfirmed => "join_confirmed",
    GuestAdded => "guest_added",
    Promoted => "promoted",
    Cancelled => "cancelled",
    Reminder => "reminder",
    Starting => "starting",
    Removed => "removed",
    DetailsChanged => "details_changed",
    VerificationCode => "verification_code",
});
