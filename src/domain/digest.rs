//! What a host hears about sign-ups between two messages, and how fast one member may change
//! theirs.
//!
//! The first join of a quiet spell is told at once; later changes within the window are folded
//! into one [`HostDigest`] that goes out when the window ends. It keeps, per member, where they
//! stood when the host was last told and where they stand now: a member who joins and leaves
//! within the window nets to nothing and is not mentioned, and a digest with nothing left to say
//! is not sent at all.

use super::masterclass::{Counts, ParticipantStatus};
use super::text::plural;
use super::{UserError, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Joins and leaves one member may make on one masterclass within
/// [`SIGN_UP_CHANGES_WINDOW_SECONDS`]; the next is refused with [`UserError::TooManyChanges`]
/// and writes nothing. Enough for a change of mind and back (and again), too few for one
/// member to flood a host or the announcement.
pub const MAX_SIGN_UP_CHANGES: u32 = 4;
/// The sliding window [`MAX_SIGN_UP_CHANGES`] counts in.
pub const SIGN_UP_CHANGES_WINDOW_SECONDS: i64 = 60;

/// Refuses a join or leave when the member already made `recent` of them on this masterclass
/// within the window.
pub fn ensure_not_flapping(recent: u32) -> Result<(), UserError> {
    if recent >= MAX_SIGN_UP_CHANGES {
        Err(UserError::TooManyChanges { changes: recent })
    } else {
        Ok(())
    }
}

/// Names shown in each part of a digest's sentence before "and N others".
const NAMES_SHOWN: usize = 3;

/// Where a member stands on a masterclass, from the host's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seat {
    /// Not signed up.
    Out,
    Attending,
    Waitlisted,
}

impl From<ParticipantStatus> for Seat {
    fn from(status: ParticipantStatus) -> Self {
        match status {
            ParticipantStatus::Attending => Seat::Attending,
            ParticipantStatus::Waitlisted => Seat::Waitlisted,
        }
    }
}

/// One member's sign-up, before and after a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatChange {
    pub member: UserId,
    pub before: Seat,
    pub now: Seat,
}

impl SeatChange {
    pub fn new(member: UserId, before: Seat, now: Seat) -> Self {
        Self {
            member,
            before,
            now,
        }
    }
}

/// What a digest keeps of a member after `change`, given what it kept before (`None`: the
/// member is not in it): their state before the window stays, their state now is replaced, and
/// a member back where they started is dropped.
pub fn fold_change(kept: Option<SeatChange>, change: SeatChange) -> Option<SeatChange> {
    let before = kept.map_or(change.before, |kept| kept.before);
    (before != change.now).then_some(SeatChange::new(change.member, before, change.now))
}

/// The parts of a digest's sentence, in the order they are said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Joined,
    JoinedWaitlist,
    Left,
    MovedUp,
}

impl Part {
    fn of(change: &SeatChange) -> Option<Part> {
        match (change.before, change.now) {
            (Seat::Out, Seat::Attending) => Some(Part::Joined),
            (Seat::Out, Seat::Waitlisted) => Some(Part::JoinedWaitlist),
            (Seat::Attending | Seat::Waitlisted, Seat::Out) => Some(Part::Left),
            (Seat::Waitlisted, Seat::Attending) => Some(Part::MovedUp),
            // Unchanged, or a seat given back to the waitlist (which never happens).
            _ => None,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Part::Joined => "joined",
            Part::JoinedWaitlist => "joined the waitlist",
            Part::Left => "left",
            Part::MovedUp => "got a seat from the waitlist",
        }
    }

    const ALL: [Part; 4] = [
        Part::Joined,
        Part::JoinedWaitlist,
        Part::Left,
        Part::MovedUp,
    ];
}

/// The sign-up changes of one masterclass since its host was last told, sent as one message
/// when the window ends. Stored as the payload of its notifications (one per channel).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostDigest {
    /// When it goes out: the end of its window (stored in seconds, so the store can read it).
    #[serde(with = "chrono::serde::ts_seconds")]
    pub until: DateTime<Utc>,
    /// Each member whose sign-up differs from when the host was last told, in the order of
    /// their first change. A member back where they started is dropped. Kept in their own
    /// table while the digest is pending (a join writes one row, not the whole list), and
    /// put in the payload only to be rendered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<SeatChange>,
    /// The seats: as of the change that opened it, then read again when it goes out.
    pub attending: u32,
    pub capacity: u32,
    pub waitlisted: u32,
}

impl HostDigest {
    pub fn new(until: DateTime<Utc>) -> Self {
        Self {
            until,
            changes: Vec::new(),
            attending: 0,
            capacity: 0,
            waitlisted: 0,
        }
    }

    /// Folds in one change: the member's state before the window stays, their state now is
    /// replaced.
    pub fn fold(&mut self, change: SeatChange) {
        let at = self.changes.iter().position(|c| c.member == change.member);
        match (at, fold_change(at.map(|at| self.changes[at]), change)) {
            (Some(at), Some(kept)) => self.changes[at] = kept,
            (Some(at), None) => {
                self.changes.remove(at);
            }
            (None, Some(kept)) => self.changes.push(kept),
            (None, None) => {}
        }
    }

    /// The seat counts the digest shows.
    pub fn set_seats(&mut self, counts: Counts, capacity: u32) {
        self.attending = counts.attending;
        self.waitlisted = counts.waitlisted;
        self.capacity = capacity;
    }

    /// Nothing to tell: every change within the window cancelled out.
    pub fn is_empty(&self) -> bool {
        self.changes.iter().all(|c| Part::of(c).is_none())
    }

    fn members(&self, part: Part) -> Vec<UserId> {
        self.changes
            .iter()
            .filter(|c| Part::of(c) == Some(part))
            .map(|c| c.member)
            .collect()
    }

    /// The members the sentence names (the rest are counted): only their names are needed.
    pub fn named_members(&self) -> Vec<UserId> {
        Part::ALL
            .into_iter()
            .flat_map(|part| {
                let members = self.members(part);
                let shown = if members.len() > NAMES_SHOWN {
                    NAMES_SHOWN - 1
                } else {
                    members.len()
                };
                members.into_iter().take(shown)
            })
            .collect()
    }

    /// The sentence, e.g. "Ana, Bo and 3 others joined; Cy left — 12/40 seats", with each
    /// named member written by `name` (escaped or emphasised as the medium needs).
    pub fn summary(&self, name: impl Fn(UserId) -> String) -> String {
        let parts: Vec<String> = Part::ALL
            .into_iter()
            .filter_map(|part| {
                let members = self.members(part);
                (!members.is_empty()).then(|| format!("{} {}", list(&members, &name), part.verb()))
            })
            .collect();
        format!("{} — {}", parts.join("; "), self.seats())
    }

    /// How many in each part, for a subject line: "5 joined, 1 left".
    pub fn tally(&self) -> String {
        Part::ALL
            .into_iter()
            .filter_map(|part| {
                let n = self.members(part).len();
                (n > 0).then(|| format!("{n} {}", part.verb()))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// "12/40 seats", and the waitlist when there is one.
    pub fn seats(&self) -> String {
        let mut seats = format!("{}/{} seats", self.attending, self.capacity);
        if self.waitlisted > 0 {
            seats.push_str(&format!(", {} on the waitlist", self.waitlisted));
        }
        seats
    }
}

/// "Ana", "Ana and Bo", "Ana, Bo and Cy", "Ana, Bo and 3 others".
fn list(members: &[UserId], name: &impl Fn(UserId) -> String) -> String {
    let (shown, others) = if members.len() > NAMES_SHOWN {
        (
            &members[..NAMES_SHOWN - 1],
            members.len() - (NAMES_SHOWN - 1),
        )
    } else {
        (members, 0)
    };
    let mut names: Vec<String> = shown.iter().map(|&m| name(m)).collect();
    if others > 0 {
        names.push(plural(others as u64, "other", "others"));
    }
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const ANA: UserId = UserId(1);
    const BO: UserId = UserId(2);
    const CY: UserId = UserId(3);

    fn digest() -> HostDigest {
        let mut digest = HostDigest::new(Utc.with_ymd_and_hms(2026, 3, 10, 12, 10, 0).unwrap());
        let counts = Counts {
            attending: 12,
            waitlisted: 0,
        };
        digest.set_seats(counts, 40);
        digest
    }

    fn name(user: UserId) -> String {
        match user.0 {
            1 => "Ana".into(),
            2 => "Bo".into(),
            3 => "Cy".into(),
            n => format!("M{n}"),
        }
    }

    fn join(member: UserId) -> SeatChange {
        SeatChange::new(member, Seat::Out, Seat::Attending)
    }

    fn leave(member: UserId) -> SeatChange {
        SeatChange::new(member, Seat::Attending, Seat::Out)
    }

    #[test]
    fn joining_and_leaving_within_the_window_nets_to_nothing() {
        let mut d = digest();
        d.fold(join(ANA));
        assert!(!d.is_empty());
        d.fold(leave(ANA));
        assert!(d.is_empty());
        assert!(d.changes.is_empty(), "no trace of the member is kept");
        // And back again: a join of its own.
        d.fold(join(ANA));
        assert_eq!(d.summary(name), "Ana joined — 12/40 seats");
    }

    #[test]
    fn the_state_before_the_window_is_kept() {
        let mut d = digest();
        // Ana's join was told at once; her leave and return within the window say nothing.
        d.fold(leave(ANA));
        d.fold(join(ANA));
        assert!(d.is_empty());
        // Bo waited, then got a seat, then left: he left.
        d.fold(SeatChange::new(BO, Seat::Waitlisted, Seat::Attending));
        d.fold(leave(BO));
        assert_eq!(d.summary(name), "Bo left — 12/40 seats");
        // Cy joined the waitlist and moved up within the window: she joined.
        d.fold(SeatChange::new(CY, Seat::Out, Seat::Waitlisted));
        d.fold(SeatChange::new(CY, Seat::Waitlisted, Seat::Attending));
        assert_eq!(d.summary(name), "Cy joined; Bo left — 12/40 seats");
    }

    #[test]
    fn the_sentence_names_three_then_counts_the_others() {
        let mut d = digest();
        for n in [1, 2, 4, 5, 6] {
            d.fold(join(UserId(n)));
        }
        d.fold(SeatChange::new(CY, Seat::Waitlisted, Seat::Out));
        assert_eq!(
            d.summary(name),
            "Ana, Bo and 3 others joined; Cy left — 12/40 seats"
        );
        assert_eq!(d.tally(), "5 joined, 1 left");
        assert_eq!(d.named_members(), [ANA, BO, CY]);

        let mut d = digest();
        for n in [1, 2, 3] {
            d.fold(join(UserId(n)));
        }
        assert_eq!(d.summary(name), "Ana, Bo and Cy joined — 12/40 seats");
        let mut d = digest();
        d.fold(join(ANA));
        d.fold(join(BO));
        assert_eq!(d.summary(name), "Ana and Bo joined — 12/40 seats");

        let mut d = digest();
        for n in [1, 2, 4, 5] {
            d.fold(join(UserId(n)));
        }
        assert_eq!(d.summary(name), "Ana, Bo and 2 others joined — 12/40 seats");
    }

    #[test]
    fn every_part_in_order_with_the_waitlist() {
        let mut d = digest();
        d.fold(SeatChange::new(
            UserId(7),
            Seat::Waitlisted,
            Seat::Attending,
        ));
        d.fold(leave(CY));
        d.fold(SeatChange::new(BO, Seat::Out, Seat::Waitlisted));
        d.fold(join(ANA));
        d.set_seats(
            Counts {
                attending: 40,
                waitlisted: 1,
            },
            40,
        );
        assert_eq!(
            d.summary(name),
            "Ana joined; Bo joined the waitlist; Cy left; M7 got a seat from the waitlist \
             — 40/40 seats, 1 on the waitlist"
        );
        assert_eq!(
            d.tally(),
            "1 joined, 1 joined the waitlist, 1 left, 1 got a seat from the waitlist"
        );
    }

    #[test]
    fn the_payload_round_trips_with_the_due_time_in_seconds() {
        let mut d = digest();
        d.fold(join(UserId(1_100_000_000_000_000_001)));
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["until"], d.until.timestamp());
        assert_eq!(json["changes"][0]["before"], "out");
        assert_eq!(serde_json::from_value::<HostDigest>(json).unwrap(), d);
    }

    #[test]
    fn the_fifth_change_in_a_minute_is_refused() {
        for recent in 0..MAX_SIGN_UP_CHANGES {
            assert_eq!(ensure_not_flapping(recent), Ok(()));
        }
        let refused = ensure_not_flapping(MAX_SIGN_UP_CHANGES).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "Slow down: you've joined or left this masterclass 4 times in the last minute. \
             Wait a minute, then try again."
        );
    }
}
