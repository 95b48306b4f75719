//! Who is signed up for a masterclass: attending, or waitlisted in arrival order.

use super::{db_id, db_time, from_db_id};
use crate::domain::{MasterclassId, UserId};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

pub use crate::domain::{Counts, ParticipantStatus as Status};

fn stored(status: Status) -> &'static str {
    match status {
        Status::Attending => "attending",
        Status::Waitlisted => "waitlisted",
    }
}

pub(super) fn status_from_stored(text: &str) -> Status {
    if text == "attending" {
        Status::Attending
    } else {
        Status::Waitlisted
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Participant {
    pub user_id: UserId,
    pub status: Status,
    /// Arrival order within the masterclass; identifies this sign-up (a re-join gets a new one).
    pub arrival: i64,
    pub is_guest: bool,
}

struct Row {
    user_id: i64,
    status: String,
    arrival: i64,
    is_guest: bool,
}

impl From<Row> for Participant {
    fn from(row: Row) -> Self {
        Participant {
            user_id: UserId(from_db_id(row.user_id)),
            status: status_from_stored(&row.status),
            arrival: row.arrival,
            is_guest: row.is_guest,
        }
    }
}

pub async fn get(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    user: UserId,
) -> sqlx::Result<Option<Participant>> {
    let user = db_id(user.0);
    let row = sqlx::query_as!(
        Row,
        r#"SELECT user_id, status, arrival, is_guest AS "is_guest: bool"
           FROM participants WHERE masterclass_id = ? AND user_id = ?"#,
        mc.0,
        user,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

/// Seats taken and waitlist length (kept on the masterclass by triggers: see the migrations).
pub async fn counts(conn: &mut SqliteConnection, mc: MasterclassId) -> sqlx::Result<Counts> {
    let row = sqlx::query!(
        r#"SELECT attending_count AS "attending!", waitlisted_count AS "waitlisted!"
           FROM masterclasses WHERE id = ?"#,
        mc.0,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map_or(Counts::default(), |row| Counts {
        attending: row.attending as u32,
        waitlisted: row.waitlisted as u32,
    }))
}

/// Adds a sign-up and returns it. Its `arrival` is the next activity id, and the activity
/// entry recording the sign-up is written under it (a trigger: see the migrations): ids only
/// grow, so it orders the waitlist and no other sign-up ever gets it (a member who leaves and
/// comes back is a new sign-up, with fresh reminders).
pub async fn insert(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    user: UserId,
    status: Status,
    is_guest: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<Participant> {
    let (user_id, now) = (db_id(user.0), db_time(now));
    let stored = stored(status);
    let arrival = sqlx::query_scalar!(
        r#"INSERT INTO participants (masterclass_id, user_id, status, arrival, is_guest, joined_at)
           VALUES (?, ?, ?, (SELECT COALESCE(MAX(id), 0) + 1 FROM activity), ?, ?)
           RETURNING arrival AS "arrival!""#,
        mc.0,
        user_id,
        stored,
        is_guest,
        now,
    )
    .fetch_one(conn)
    .await?;
    Ok(Participant {
        user_id: user,
        status,
        arrival,
        is_guest,
    })
}

pub async fn delete(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    user: UserId,
) -> sqlx::Result<()> {
    let user = db_id(user.0);
    sqlx::query!(
        "DELETE FROM participants WHERE masterclass_id = ? AND user_id = ?",
        mc.0,
        user,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves the first `seats` waitlisted members to attending and returns them, in order.
pub async fn promote(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    seats: u32,
) -> sqlx::Result<Vec<Participant>> {
    let seats = i64::from(seats);
    let rows = sqlx::query_as!(
        Row,
        r#"UPDATE participants SET status = 'attending'
           WHERE masterclass_id = ?1 AND user_id IN (
               SELECT user_id FROM participants WHERE masterclass_id = ?1 AND status = 'waitlisted'
               ORDER BY arrival LIMIT ?2)
           RETURNING user_id AS "user_id!", status AS "status!", arrival AS "arrival!",
               is_guest AS "is_guest!: bool""#,
        mc.0,
        seats,
    )
    .fetch_all(conn)
    .await?;
    let mut promoted: Vec<Participant> = rows.into_iter().map(Into::into).collect();
    promoted.sort_by_key(|p| p.arrival);
    Ok(promoted)
}

/// 1-based position of a waitlisted member.
pub async fn waitlist_position(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    arrival: i64,
) -> sqlx::Result<u32> {
    let ahead = sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "ahead!: i64" FROM participants
           WHERE masterclass_id = ? AND status = 'waitlisted' AND arrival < ?"#,
        mc.0,
        arrival,
    )
    .fetch_one(conn)
    .await?;
    Ok(ahead as u32 + 1)
}

/// Everyone signed up: attendees first, then the waitlist, each in arrival order (both read
/// in index order).
pub async fn list(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
) -> sqlx::Result<Vec<Participant>> {
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT user_id, status, arrival, is_guest AS "is_guest: bool"
           FROM participants WHERE masterclass_id = ?1 AND status = 'attending'
           UNION ALL
           SELECT user_id, status, arrival, is_guest AS "is_guest: bool"
           FROM participants WHERE masterclass_id = ?1 AND status = 'waitlisted'"#,
        mc.0,
    )
    .fetch_all(conn)
    .await?;
    let mut everyone: Vec<Participant> = rows.into_iter().map(Into::into).collect();
    // Each half arrives in index order already; this makes the order a promise, not a plan.
    everyone.sort_by_key(|p| (p.status == Status::Waitlisted, p.arrival));
    Ok(everyone)
}
