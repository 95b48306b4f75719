//! Who is signed up for a masterclass: attending, or waitlisted in arrival order.

use super::{db_id, db_time, from_db_id};
use crate::domain::{MasterclassId, UserId};
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Attending,
    Waitlisted,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Attending => "attending",
            Self::Waitlisted => "waitlisted",
        }
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

#[derive(FromRow)]
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
            status: if row.status == "attending" {
                Status::Attending
            } else {
                Status::Waitlisted
            },
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
    let row: Option<Row> = sqlx::query_as(
        "SELECT user_id, status, arrival, is_guest FROM participants WHERE masterclass_id = ? AND user_id = ?",
    )
    .bind(mc.0)
    .bind(db_id(user.0))
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

/// Seats taken and waitlist length.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub attending: u32,
    pub waitlisted: u32,
}

pub async fn counts(conn: &mut SqliteConnection, mc: MasterclassId) -> sqlx::Result<Counts> {
    let (attending, waitlisted): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(status = 'attending'), 0), COALESCE(SUM(status = 'waitlisted'), 0)
         FROM participants WHERE masterclass_id = ?",
    )
    .bind(mc.0)
    .fetch_one(conn)
    .await?;
    Ok(Counts {
        attending: attending as u32,
        waitlisted: waitlisted as u32,
    })
}

/// The seat counts and, if signed up, the member's own sign-up: one read for a join.
pub async fn seat_view(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    user: UserId,
) -> sqlx::Result<(Counts, Option<Participant>)> {
    let (attending, waitlisted, status, arrival, is_guest): (i64, i64, Option<String>, Option<i64>, Option<bool>) =
        sqlx::query_as(
            "SELECT COALESCE(SUM(status = 'attending'), 0), COALESCE(SUM(status = 'waitlisted'), 0),
                    MAX(CASE WHEN user_id = ?2 THEN status END), MAX(CASE WHEN user_id = ?2 THEN arrival END),
                    MAX(CASE WHEN user_id = ?2 THEN is_guest END)
             FROM participants WHERE masterclass_id = ?1",
        )
        .bind(mc.0)
        .bind(db_id(user.0))
        .fetch_one(conn)
        .await?;
    let counts = Counts {
        attending: attending as u32,
        waitlisted: waitlisted as u32,
    };
    let mine = match (status, arrival) {
        (Some(status), Some(arrival)) => Some(Participant::from(Row {
            user_id: db_id(user.0),
            status,
            arrival,
            is_guest: is_guest.unwrap_or(false),
        })),
        _ => None,
    };
    Ok((counts, mine))
}

/// Adds a member at the end of the arrival order.
pub async fn insert(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    user: UserId,
    status: Status,
    is_guest: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<Participant> {
    let row: Row = sqlx::query_as(
        "INSERT INTO participants (masterclass_id, user_id, status, arrival, is_guest, joined_at)
         VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(arrival), 0) + 1 FROM participants WHERE masterclass_id = ?1), ?4, ?5)
         RETURNING user_id, status, arrival, is_guest",
    )
    .bind(mc.0)
    .bind(db_id(user.0))
    .bind(status.as_str())
    .bind(is_guest)
    .bind(db_time(now))
    .fetch_one(conn)
    .await?;
    Ok(row.into())
}

pub async fn delete(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    user: UserId,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM participants WHERE masterclass_id = ? AND user_id = ?")
        .bind(mc.0)
        .bind(db_id(user.0))
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
    let rows: Vec<Row> = sqlx::query_as(
        "UPDATE participants SET status = 'attending'
         WHERE masterclass_id = ?1 AND user_id IN (
             SELECT user_id FROM participants WHERE masterclass_id = ?1 AND status = 'waitlisted'
             ORDER BY arrival LIMIT ?2)
         RETURNING user_id, status, arrival, is_guest",
    )
    .bind(mc.0)
    .bind(i64::from(seats))
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
    let ahead: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM participants WHERE masterclass_id = ? AND status = 'waitlisted' AND arrival < ?",
    )
    .bind(mc.0)
    .bind(arrival)
    .fetch_one(conn)
    .await?;
    Ok(ahead as u32 + 1)
}

/// Everyone signed up: attendees first, then the waitlist, each in arrival order.
pub async fn list(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
) -> sqlx::Result<Vec<Participant>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT user_id, status, arrival, is_guest FROM participants WHERE masterclass_id = ?
         ORDER BY status = 'waitlisted', arrival",
    )
    .bind(mc.0)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}
