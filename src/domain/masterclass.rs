use super::{
    ChannelId, Description, GuildId, MasterclassId, ReminderOffsets, TimeZone, Title, UserError,
    UserId,
};
use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, Offset as _, TimeZone as _, Utc};
use std::fmt;

pub const MAX_GUESTS: usize = 25;

/// Seats of a masterclass (the host takes none): 1–1000.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Capacity(u32);

impl Capacity {
    pub fn new(seats: i64) -> Result<Self, UserError> {
        match u32::try_from(seats) {
            Ok(seats @ 1..=1000) => Ok(Self(seats)),
            _ => Err(UserError::CapacityOutOfRange),
        }
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Length of a masterclass in minutes: 15–480.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duration(u32);

impl Duration {
    pub const DEFAULT_MINUTES: u32 = 60;

    pub fn from_minutes(minutes: i64) -> Result<Self, UserError> {
        match u32::try_from(minutes) {
            Ok(minutes @ 15..=480) => Ok(Self(minutes)),
            _ => Err(UserError::DurationOutOfRange),
        }
    }
    pub fn minutes(self) -> u32 {
        self.0
    }
}

/// When a masterclass starts: in the future, at most a year ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartTime(DateTime<Utc>);

impl StartTime {
    pub fn new(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<Self, UserError> {
        if at <= now {
            Err(UserError::StartInPast)
        } else if at > now + chrono::Duration::days(366) {
            Err(UserError::StartTooFar)
        } else {
            Ok(Self(at))
        }
    }

    /// Reads what a host typed, in their zone: `2026-03-14 18:00`, ISO 8601 with an offset
    /// (`2026-03-14T18:00+01:00`, the offset wins over the zone), or English such as
    /// `tomorrow 18:00` and `next tuesday 17:30`.
    pub fn parse(text: &str, zone: TimeZone, now: DateTime<Utc>) -> Result<Self, UserError> {
        let text = text.trim();
        let unreadable = || UserError::UnreadableStart(text.chars().take(60).collect());
        let at = if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            at.with_timezone(&Utc)
        } else if let Some(local) = ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        {
            // A wall time the clocks skip is refused with the jump; a repeated one takes the
            // earlier of the two (the preview says so, with its offset: see `repeated_in`).
            match zone.tz().from_local_datetime(&local) {
                LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
                LocalResult::None => return Err(skipped(zone, local).unwrap_or_else(unreadable)),
            }
        } else {
            let local_now = now.with_timezone(&zone.tz());
            interim::parse_date_string(text, local_now, interim::Dialect::Uk)
                .map_err(|_| unreadable())?
                .with_timezone(&Utc)
        };
        Self::new(at, now)
    }

    pub fn get(self) -> DateTime<Utc> {
        self.0
    }

    /// Whether the clocks of `zone` show this start's wall time twice (the hour repeated when
    /// they go back), and which of the two it is: a host reading only the wall time can't tell.
    pub fn repeated_in(self, zone: TimeZone) -> Option<RepeatedTime> {
        let local = self.0.with_timezone(&zone.tz());
        match zone.tz().from_local_datetime(&local.naive_local()) {
            LocalResult::Ambiguous(first, _) => Some(RepeatedTime {
                local: local.naive_local(),
                first: first == local,
                utc_offset: local.offset().fix(),
            }),
            LocalResult::Single(_) | LocalResult::None => None,
        }
    }
}

/// A wall time shown twice by the clocks, and which of the two a start is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepeatedTime {
    pub local: NaiveDateTime,
    /// The earlier of the two (before the clocks go back).
    pub first: bool,
    pub utc_offset: FixedOffset,
}

/// The refusal of a wall time the clocks of `zone` skip: the wall times they jump from and to,
/// found by halving the three days around it down to the second of the change.
fn skipped(zone: TimeZone, local: NaiveDateTime) -> Option<UserError> {
    let tz = zone.tz();
    let offset = |seconds: i64| {
        let at = DateTime::from_timestamp(seconds, 0)?;
        Some(tz.offset_from_utc_datetime(&at.naive_utc()).fix())
    };
    let (mut low, mut high) = (
        local.and_utc().timestamp() - 36 * 3600,
        local.and_utc().timestamp() + 36 * 3600,
    );
    let before = offset(low)?;
    if offset(high)? == before {
        return None;
    }
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if offset(middle)? == before {
            low = middle;
        } else {
            high = middle;
        }
    }
    let after = offset(high)?;
    let change = DateTime::from_timestamp(high, 0)?.naive_utc();
    Some(UserError::SkippedStart {
        time: local.format("%H:%M").to_string(),
        date: local.format("%-d %B").to_string(),
        zone: zone.name().to_owned(),
        from: (change + before).format("%H:%M").to_string(),
        to: (change + after).format("%H:%M").to_string(),
    })
}

/// Where a masterclass happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A voice or stage channel of the server (the adapter checks the channel's kind).
    Channel(ChannelId),
    Url(String),
}

impl Location {
    /// Discord keeps at most this many characters as a scheduled event's place: a longer link
    /// would be cut there and stop working.
    pub const MAX_LINK_CHARS: usize = 100;

    /// An http(s) link, counted as stored (normalised), so the event shows it whole.
    pub fn url(raw: &str) -> Result<Self, UserError> {
        let raw = raw.trim();
        let parsed = url::Url::parse(raw).map_err(|_| UserError::BadLocation)?;
        let ok = matches!(parsed.scheme(), "http" | "https")
            && parsed.host_str().is_some_and(|host| !host.is_empty());
        if !ok {
            return Err(UserError::BadLocation);
        }
        let link = parsed.to_string();
        let len = link.chars().count();
        if len > Self::MAX_LINK_CHARS {
            return Err(UserError::LinkTooLong { len });
        }
        Ok(Self::Url(link))
    }

    /// The stored form: `channel:<id>` or the URL.
    pub fn to_stored(&self) -> String {
        match self {
            Self::Channel(id) => format!("channel:{id}"),
            Self::Url(url) => url.clone(),
        }
    }

    pub fn from_stored(stored: &str) -> Option<Self> {
        match stored.strip_prefix("channel:") {
            Some(id) => id.parse().ok().map(|id| Self::Channel(ChannelId(id))),
            None => Some(Self::Url(stored.to_owned())),
        }
    }
}

impl fmt::Display for Location {
    /// As Discord renders it: a channel mention or the link.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Channel(id) => write!(f, "<#{id}>"),
            Self::Url(url) => f.write_str(url),
        }
    }
}

/// Invited members: at most 25, not the host, no duplicates, no bots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Guests(Vec<UserId>);

impl Guests {
    /// `guests` pairs each member with whether it is a bot.
    pub fn new(host: UserId, guests: &[(UserId, bool)]) -> Result<Self, UserError> {
        if guests.len() > MAX_GUESTS {
            return Err(UserError::TooManyGuests);
        }
        let mut ids = Vec::with_capacity(guests.len());
        for &(id, is_bot) in guests {
            if id == host {
                return Err(UserError::HostAsGuest);
            }
            if is_bot {
                return Err(UserError::BotAsGuest);
            }
            if ids.contains(&id) {
                return Err(UserError::DuplicateGuest);
            }
            ids.push(id);
        }
        Ok(Self(ids))
    }
    pub fn ids(&self) -> &[UserId] {
        &self.0
    }
}

/// Everything a host chose, checked. Built only through [`NewMasterclass::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMasterclass {
    pub title: Title,
    pub description: Description,
    pub start: StartTime,
    pub duration: Duration,
    pub capacity: Capacity,
    pub location: Option<Location>,
    pub guests: Guests,
    /// The zone the start was read in, shown back to the host.
    pub time_zone: TimeZone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MasterclassStatus {
    Scheduled,
    Cancelled,
}

impl MasterclassStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Where a masterclass is in its life at a given moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Upcoming,
    InProgress,
    Completed,
    Cancelled,
}

/// Where a member stands in a masterclass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParticipantStatus {
    Attending,
    Waitlisted,
}

/// Seats taken and waitlist length.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub attending: u32,
    pub waitlisted: u32,
}

/// The Discord objects that mirror a masterclass, once they exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiscordIds {
    pub announcement_channel_id: Option<ChannelId>,
    pub announcement_message_id: Option<u64>,
    pub thread_id: Option<ChannelId>,
    pub event_id: Option<u64>,
}

/// A stored masterclass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Masterclass {
    pub id: MasterclassId,
    pub guild_id: GuildId,
    pub host_id: UserId,
    pub title: String,
    pub description: String,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: u32,
    pub capacity: u32,
    pub location: Option<Location>,
    pub time_zone: String,
    /// When its reminders go out: the server's choice at the time it was hosted.
    pub reminder_offsets: ReminderOffsets,
    pub status: MasterclassStatus,
    pub cancel_reason: Option<String>,
    pub sequence: u32,
    pub announcement_channel_id: Option<ChannelId>,
    pub announcement_message_id: Option<u64>,
    pub thread_id: Option<ChannelId>,
    pub event_id: Option<u64>,
}

impl Masterclass {
    pub fn ends_at(&self) -> DateTime<Utc> {
        self.starts_at + chrono::Duration::minutes(self.duration_minutes.into())
    }

    pub fn phase(&self, now: DateTime<Utc>) -> Phase {
        if self.status == MasterclassStatus::Cancelled {
            Phase::Cancelled
        } else if now < self.starts_at {
            Phase::Upcoming
        } else if now < self.ends_at() {
            Phase::InProgress
        } else {
            Phase::Completed
        }
    }

    /// Stable per masterclass, so calendar updates and cancellations replace the event.
    pub fn calendar_uid(&self) -> String {
        format!("masterclass-{}@masterclass-bot", self.id)
    }

    /// The link to its Discord thread, once the thread exists.
    pub fn thread_url(&self) -> Option<String> {
        self.thread_id
            .map(|thread| format!("https://discord.com/channels/{}/{thread}", self.guild_id))
    }

    /// The place as a link, for calendars and emails (a channel mention means nothing there).
    pub fn location_link(&self) -> Option<String> {
        self.location.as_ref().map(|location| match location {
            Location::Channel(channel) => {
                format!("https://discord.com/channels/{}/{channel}", self.guild_id)
            }
            Location::Url(url) => url.clone(),
        })
    }

    /// Joining (and being promoted) is possible only before the start of a scheduled masterclass.
    pub fn ensure_open(&self, now: DateTime<Utc>) -> Result<(), UserError> {
        match self.phase(now) {
            Phase::Upcoming => Ok(()),
            Phase::Cancelled => Err(UserError::Cancelled),
            Phase::InProgress | Phase::Completed => Err(UserError::AlreadyStarted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
    }

    #[test]
    fn start_reads_local_time_in_the_zone() {
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        let start = StartTime::parse("2026-03-14 18:00", paris, now()).unwrap();
        assert_eq!(
            start.get(),
            Utc.with_ymd_and_hms(2026, 3, 14, 17, 0, 0).unwrap()
        );
        // After the DST change the same wall time is one hour closer to UTC.
        let start = StartTime::parse("2026-04-14 18:00", paris, now()).unwrap();
        assert_eq!(
            start.get(),
            Utc.with_ymd_and_hms(2026, 4, 14, 16, 0, 0).unwrap()
        );
    }

    #[test]
    fn start_offset_wins_over_zone() {
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        let start = StartTime::parse("2026-03-14T18:00:00-05:00", paris, now()).unwrap();
        assert_eq!(
            start.get(),
            Utc.with_ymd_and_hms(2026, 3, 14, 23, 0, 0).unwrap()
        );
    }

    #[test]
    fn start_reads_english() {
        let utc = TimeZone::parse("UTC").unwrap();
        let start = StartTime::parse("tomorrow 18:00", utc, now()).unwrap();
        assert_eq!(
            start.get(),
            Utc.with_ymd_and_hms(2026, 3, 11, 18, 0, 0).unwrap()
        );
        let start = StartTime::parse("next tuesday 17:30", utc, now()).unwrap();
        assert_eq!(start.get().format("%a %H:%M").to_string(), "Tue 17:30");
        assert!(start.get() > now());
    }

    #[test]
    fn start_skipped_by_dst_says_what_the_clocks_do() {
        let new_york = TimeZone::parse("America/New_York").unwrap();
        let march = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let refusal = StartTime::parse("2026-03-08 02:30", new_york, march).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "02:30 doesn't exist on 8 March in America/New_York: clocks jump from 02:00 to 03:00."
        );
        // Lord Howe moves by half an hour; Paris at 02:00 sharp is skipped too.
        let lord_howe = TimeZone::parse("Australia/Lord_Howe").unwrap();
        let september = Utc.with_ymd_and_hms(2026, 9, 1, 12, 0, 0).unwrap();
        assert_eq!(
            StartTime::parse("2026-10-04 02:15", lord_howe, september)
                .unwrap_err()
                .to_string(),
            "02:15 doesn't exist on 4 October in Australia/Lord_Howe: clocks jump from 02:00 to 02:30."
        );
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        assert_eq!(
            StartTime::parse("2026-03-29 02:00", paris, now()),
            Err(UserError::SkippedStart {
                time: "02:00".into(),
                date: "29 March".into(),
                zone: "Europe/Paris".into(),
                from: "02:00".into(),
                to: "03:00".into(),
            })
        );
    }

    #[test]
    fn repeated_hour_takes_the_first_and_says_so() {
        let new_york = TimeZone::parse("America/New_York").unwrap();
        let october = Utc.with_ymd_and_hms(2026, 10, 1, 12, 0, 0).unwrap();
        let start = StartTime::parse("2026-11-01 01:30", new_york, october).unwrap();
        // The first 01:30 is still daylight time: UTC−4.
        assert_eq!(
            start.get(),
            Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap()
        );
        let repeated = start.repeated_in(new_york).unwrap();
        assert!(repeated.first);
        assert_eq!(repeated.utc_offset.local_minus_utc(), -4 * 3600);
        assert_eq!(
            repeated.local.format("%-d %B %H:%M").to_string(),
            "1 November 01:30"
        );
        // The second one, chosen with an explicit offset, is named as such.
        let second = StartTime::parse("2026-11-01T01:30:00-05:00", new_york, october).unwrap();
        let repeated = second.repeated_in(new_york).unwrap();
        assert!(!repeated.first);
        assert_eq!(repeated.utc_offset.local_minus_utc(), -5 * 3600);
        // An ordinary hour is shown once.
        let plain = StartTime::parse("2026-11-01 03:30", new_york, october).unwrap();
        assert_eq!(plain.repeated_in(new_york), None);
    }

    #[test]
    fn start_bounds() {
        assert_eq!(StartTime::new(now(), now()), Err(UserError::StartInPast));
        assert_eq!(
            StartTime::new(now() + chrono::Duration::days(400), now()),
            Err(UserError::StartTooFar)
        );
    }

    #[test]
    fn locations() {
        assert!(Location::url("https://meet.example.org/abc").is_ok());
        assert_eq!(
            Location::url("javascript:alert(1)"),
            Err(UserError::BadLocation)
        );
        assert_eq!(Location::url("ftp://x.org"), Err(UserError::BadLocation));
        let longest = format!("https://x.org/{}", "a".repeat(86));
        assert_eq!(longest.len(), Location::MAX_LINK_CHARS);
        assert!(Location::url(&longest).is_ok());
        assert_eq!(
            Location::url(&format!("{longest}b")),
            Err(UserError::LinkTooLong { len: 101 })
        );
        let channel = Location::Channel(ChannelId(42));
        assert_eq!(Location::from_stored(&channel.to_stored()), Some(channel));
    }

    #[test]
    fn guests_rules() {
        let host = UserId(1);
        assert_eq!(
            Guests::new(host, &[(host, false)]),
            Err(UserError::HostAsGuest)
        );
        assert_eq!(
            Guests::new(host, &[(UserId(2), false), (UserId(2), false)]),
            Err(UserError::DuplicateGuest)
        );
        let many: Vec<_> = (2..28).map(|id| (UserId(id), false)).collect();
        assert_eq!(Guests::new(host, &many), Err(UserError::TooManyGuests));
    }
}
