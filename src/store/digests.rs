//! The members a pending host digest names (see `domain::digest`), a row each: folding a join
//! into a digest writes one small row, whatever the number who joined in its window.

use super::{db_id, db_time, from_db_id};
use crate::domain::{fold_change, MasterclassId, Seat, SeatChange, UserId};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

fn stored(seat: Seat) -> &'static str {
    match seat {
        Seat::Out => "out",
        Seat::Attending => "attending",
        Seat::Waitlisted => "waitlisted",
    }
}

fn seat(text: &str) -> Seat {
    match text {
        "attending" => Seat::Attending,
        "waitlisted" => Seat::Waitlisted,
        _ => Seat::Out,
    }
}

/// Folds `change` into the digest of `mc` ending at `until` (as [`fold_change`] says: the
/// member's state before the window stays, their state now is replaced, and a member back where
/// they started is dropped), in one statement for a join; returns whether it took a member out
/// (the digest may have nothing left to say).
pub async fn fold(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    until: DateTime<Utc>,
    change: SeatChange,
) -> sqlx::Result<bool> {
    let (until, member) = (db_time(until), db_id(change.member.0));
    let (before, now) = (stored(change.before), stored(change.now));
    let kept = sqlx::query!(
        "INSERT INTO host_digest_changes (masterclass_id, until, member, before, now)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (masterclass_id, until, member) DO UPDATE SET now = excluded.now
         RETURNING before, now",
        mc.0,
        until,
        member,
        before,
        now,
    )
    .fetch_one(&mut *conn)
    .await?;
    let kept = SeatChange::new(change.member, seat(&kept.before), seat(&kept.now));
    if fold_change(Some(kept), change).is_some() {
        return Ok(false);
    }
    sqlx::query!(
        "DELETE FROM host_digest_changes WHERE masterclass_id = ? AND until = ? AND member = ?",
        mc.0,
        until,
        member,
    )
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// The digest's members, in the order of their first change.
pub async fn changes(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    until: DateTime<Utc>,
) -> sqlx::Result<Vec<SeatChange>> {
    let until = db_time(until);
    let mut rows = sqlx::query!(
        r#"SELECT rowid AS "order!", member AS "member!", before, now FROM host_digest_changes
           WHERE masterclass_id = ? AND until = ?"#,
        mc.0,
        until,
    )
    .fetch_all(conn)
    .await?;
    // A window's members are few enough to sort here, not in a temporary tree.
    rows.sort_by_key(|row| row.order);
    Ok(rows
        .into_iter()
        .map(|row| {
            let member = UserId(from_db_id(row.member));
            SeatChange::new(member, seat(&row.before), seat(&row.now))
        })
        .collect())
}

/// Whether the digest has anything left to say.
pub async fn is_empty(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    until: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let until = db_time(until);
    let any = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM host_digest_changes WHERE masterclass_id = ? AND until = ?)
           AS "any!: bool""#,
        mc.0,
        until,
    )
    .fetch_one(conn)
    .await?;
    Ok(!any)
}
