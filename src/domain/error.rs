use super::text::plural;
use super::UserId;
use thiserror::Error;

/// A refusal the user can act on. `Display` is exactly what the user reads.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum UserError {
    #[error("The {field} can't be empty.")]
    Empty { field: &'static str },
    #[error("The {field} is too long: {len} characters, at most {max}.")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("The {field} contains control characters; please use plain text.")]
    ControlCharacters { field: &'static str },
    #[error("The start time is in the past. Pick a time in the future.")]
    StartInPast,
    #[error("The start time is more than a year ahead. Pick a date within the next 12 months.")]
    StartTooFar,
    #[error("I couldn't read the start time “{0}”. Try `2026-03-14 18:00`, `2026-03-14T18:00+01:00` or `tomorrow 18:00`.")]
    UnreadableStart(String),
    /// A wall time the clocks skip when they go forward (the adapter can't pick one for the host).
    #[error("{time} doesn't exist on {date} in {zone}: clocks jump from {from} to {to}.")]
    SkippedStart {
        time: String,
        date: String,
        zone: String,
        from: String,
        to: String,
    },
    #[error("The duration must be between 15 and 480 minutes.")]
    DurationOutOfRange,
    #[error("The capacity must be between 1 and 1000 seats.")]
    CapacityOutOfRange,
    #[error("The capacity can't go below the {} already attending.", plural(*.attending, "member", "members"))]
    CapacityBelowAttendees { attending: u32 },
    #[error("“{0}” is not a time zone I know. Use an IANA name such as `Europe/Paris` or `America/New_York`.")]
    UnknownTimeZone(String),
    #[error("Give either a channel or a link as the location, not both.")]
    TwoLocations,
    #[error("List guests as @mentions, separated by spaces.")]
    BadGuestList,
    #[error("This works only in a server, not in direct messages.")]
    GuildOnly,
    #[error("This button or form has expired. Please start again.")]
    Expired,
    #[error("That isn't yours to press.")]
    NotYours,
    #[error("The location must be a voice or stage channel of this server, or an http(s) link.")]
    BadLocation,
    #[error("That link has {len} characters; Discord keeps at most 100 for an event's place, so it would be cut and stop working. Use a shorter link.")]
    LinkTooLong { len: usize },
    #[error("At most 25 guests can be invited.")]
    TooManyGuests,
    #[error("<@{user}> isn't a member of this server, so they can't be a guest.")]
    GuestNotMember { user: UserId },
    #[error("You can't invite yourself as a guest: the host doesn't take a seat.")]
    HostAsGuest,
    #[error("The same guest is listed twice.")]
    DuplicateGuest,
    #[error("Bots can't be guests.")]
    BotAsGuest,
    #[error("Masterclasses aren't enabled on this server yet. Ask a server admin to switch them on with `/masterclass-admin enable`; `/help` explains how masterclasses work.")]
    NotEnabled,
    #[error("Only members with the host role can host masterclasses here.")]
    NotHostRole,
    #[error("This server hasn't chosen a host role yet. Ask an admin to run `/masterclass-admin host-role`.")]
    NoHostRole,
    #[error("This server hasn't chosen an announcement channel yet. Ask an admin to run `/masterclass-admin channel`.")]
    NoAnnouncementChannel,
    #[error("I can't find that masterclass on this server.")]
    NotFound,
    #[error("Only the host or a server admin can do that.")]
    NotHostOrAdmin,
    #[error("Only server admins (Manage Server) can see or change this server's masterclass settings and delivery reports.")]
    NotAdmin,
    #[error("You're already attending this masterclass.")]
    AlreadyAttending,
    #[error("You're already on the waitlist (position {position}).")]
    AlreadyWaitlisted { position: u32 },
    #[error("You're the host of this masterclass, so you're already in.")]
    OwnMasterclass,
    #[error("This masterclass was cancelled.")]
    Cancelled,
    #[error("This masterclass has already started.")]
    AlreadyStarted,
    #[error("You're not signed up for this masterclass.")]
    NotParticipant,
    #[error("That member isn't signed up for this masterclass.")]
    MemberNotParticipant,
    #[error("The date and time of a masterclass can't be changed. To reschedule, cancel it (with a reason) and host a new one.")]
    TimeIsImmutable,
    #[error("Nothing to change: give at least one new value.")]
    NothingToChange,
    #[error(
        "Reminder offsets must be 1 to 5 values between 1 minute and 14 days, e.g. `24h, 15m`."
    )]
    BadReminderOffsets,
    #[error("“{0}” doesn't look like an email address.")]
    BadEmail(String),
    #[error("There's no pending email address. Start with `/settings email set`.")]
    NoPendingEmail,
    #[error("That code has expired. Ask for a new one with `/settings email set`.")]
    CodeExpired,
    #[error("That code isn't right. {} left.", plural(*.remaining, "try", "tries"))]
    WrongCode { remaining: u32 },
    #[error("Too many wrong codes. Ask for a new one with `/settings email set`.")]
    TooManyWrongCodes,
    #[error("You've asked for 3 codes in the last hour. Please wait a bit before asking again.")]
    TooManyCodes,
    /// One member flipping Join/Leave on one masterclass (see `MAX_SIGN_UP_CHANGES`).
    #[error("Slow down: you've joined or left this masterclass {changes} times in the last minute. Wait a minute, then try again.")]
    TooManyChanges { changes: u32 },
}
