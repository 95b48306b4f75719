//! Masterclass rows. Every query is checked against the schema at compile time (`.sqlx/`).

use super::participants::{status_from_stored, Counts, Participant};
use super::{db_id, db_time, from_db_id, from_db_time};
use crate::domain::{
    ChannelId, DiscordIds, GuildId, Location, Masterclass, MasterclassId, MasterclassStatus,
    NewMasterclass, ReminderOffsets, UserId,
};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

/// A masterclass as stored; the column list is spelled out in every query (no `SELECT *`).
pub(super) struct Row {
    pub id: i64,
    pub guild_id: i64,
    pub host_id: i64,
    pub title: String,
    pub description: String,
    pub starts_at: i64,
    pub duration_minutes: i64,
    pub capacity: i64,
    pub location: Option<String>,
    pub time_zone: String,
    pub reminder_offsets: String,
    pub status: String,
    pub cancel_reason: Option<String>,
    pub sequence: i64,
    pub announcement_channel_id: Option<i64>,
    pub announcement_message_id: Option<i64>,
    pub thread_id: Option<i64>,
    pub event_id: Option<i64>,
}

impl From<Row> for Masterclass {
    fn from(row: Row) -> Self {
        Masterclass {
            id: MasterclassId(row.id),
            guild_id: GuildId(from_db_id(row.guild_id)),
            host_id: UserId(from_db_id(row.host_id)),
            title: row.title,
            description: row.description,
            starts_at: from_db_time(row.starts_at),
            duration_minutes: row.duration_minutes as u32,
            capacity: row.capacity as u32,
            location: row.location.as_deref().and_then(Location::from_stored),
            time_zone: row.time_zone,
            reminder_offsets: serde_json::from_str(&row.reminder_offsets)
                .ok()
                .and_then(|minutes| ReminderOffsets::new(minutes).ok())
                .unwrap_or_default(),
            status: if row.status == "cancelled" {
                MasterclassStatus::Cancelled
            } else {
                MasterclassStatus::Scheduled
            },
            cancel_reason: row.cancel_reason,
            sequence: row.sequence as u32,
            announcement_channel_id: row
                .announcement_channel_id
                .map(|id| ChannelId(from_db_id(id))),
            announcement_message_id: row.announcement_message_id.map(from_db_id),
            thread_id: row.thread_id.map(|id| ChannelId(from_db_id(id))),
            event_id: row.event_id.map(from_db_id),
        }
    }
}

/// A [`Row`] from any query record holding the masterclass columns by their names (queries
/// that add columns, such as counts, get records of their own type).
macro_rules! row_from {
    ($r:expr) => {
        Row {
            id: $r.id,
            guild_id: $r.guild_id,
            host_id: $r.host_id,
            title: $r.title,
            description: $r.description,
            starts_at: $r.starts_at,
            duration_minutes: $r.duration_minutes,
            capacity: $r.capacity,
            location: $r.location,
            time_zone: $r.time_zone,
            reminder_offsets: $r.reminder_offsets,
            status: $r.status,
            cancel_reason: $r.cancel_reason,
            sequence: $r.sequence,
            announcement_channel_id: $r.announcement_channel_id,
            announcement_message_id: $r.announcement_message_id,
            thread_id: $r.thread_id,
            event_id: $r.event_id,
        }
    };
}

fn counts_from(attending: i64, waitlisted: i64) -> Counts {
    Counts {
        attending: attending as u32,
        waitlisted: waitlisted as u32,
    }
}

pub async fn insert(
    conn: &mut SqliteConnection,
    guild: GuildId,
    host: UserId,
    new: &NewMasterclass,
    offsets: &ReminderOffsets,
    announcement_channel: ChannelId,
    now: DateTime<Utc>,
) -> sqlx::Result<Masterclass> {
    let (guild, host) = (db_id(guild.0), db_id(host.0));
    let (start, now) = (db_time(new.start.get()), db_time(now));
    let duration = i64::from(new.duration.minutes());
    let capacity = i64::from(new.capacity.get());
    let location = new.location.as_ref().map(Location::to_stored);
    let zone = new.time_zone.name();
    let offsets = serde_json::to_string(offsets.minutes()).expect("numbers");
    let channel = db_id(announcement_channel.0);
    let (title, description) = (new.title.as_str(), new.description.as_str());
    let row = sqlx::query_as!(
        Row,
        r#"INSERT INTO masterclasses (guild_id, host_id, title, description, starts_at,
               duration_minutes, capacity, location, time_zone, reminder_offsets, status,
               announcement_channel_id, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?)
           RETURNING id AS "id!", guild_id AS "guild_id!", host_id AS "host_id!",
               title AS "title!", description AS "description!", starts_at AS "starts_at!",
               duration_minutes AS "duration_minutes!", capacity AS "capacity!", location,
               time_zone AS "time_zone!", reminder_offsets AS "reminder_offsets!",
               status AS "status!", cancel_reason, sequence AS "sequence!",
               announcement_channel_id, announcement_message_id, thread_id, event_id"#,
        guild,
        host,
        title,
        description,
        start,
        duration,
        capacity,
        location,
        zone,
        offsets,
        channel,
        now,
    )
    .fetch_one(conn)
    .await?;
    Ok(row.into())
}

/// A masterclass of this guild; another guild's is simply not there.
pub async fn get(
    conn: &mut SqliteConnection,
    guild: GuildId,
    id: MasterclassId,
) -> sqlx::Result<Option<Masterclass>> {
    let guild = db_id(guild.0);
    let row = sqlx::query_as!(
        Row,
        "SELECT id, guild_id, host_id, title, description, starts_at, duration_minutes, capacity,
             location, time_zone, reminder_offsets, status, cancel_reason, sequence,
             announcement_channel_id, announcement_message_id, thread_id, event_id
         FROM masterclasses WHERE id = ? AND guild_id = ?",
        id.0,
        guild,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

/// Any masterclass by id, for the workers (which work across guilds).
pub async fn get_any(
    conn: &mut SqliteConnection,
    id: MasterclassId,
) -> sqlx::Result<Option<Masterclass>> {
    let row = sqlx::query_as!(
        Row,
        "SELECT id, guild_id, host_id, title, description, starts_at, duration_minutes, capacity,
             location, time_zone, reminder_offsets, status, cancel_reason, sequence,
             announcement_channel_id, announcement_message_id, thread_id, event_id
         FROM masterclasses WHERE id = ?",
        id.0,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

/// A masterclass of this guild with what a join or a leave decides on, in one read.
pub struct SignUpView {
    pub masterclass: Masterclass,
    pub counts: Counts,
    /// The member's own sign-up, if any.
    pub mine: Option<Participant>,
    /// The member's joins and leaves of this masterclass since the `changes_since` asked for.
    pub recent_changes: u32,
}

/// A masterclass of this guild with its seat counts, the member's own sign-up and how often
/// they joined or left it since `changes_since`: everything a join or a leave decides on, in
/// one read.
pub async fn with_sign_up(
    conn: &mut SqliteConnection,
    guild: GuildId,
    id: MasterclassId,
    user: UserId,
    changes_since: DateTime<Utc>,
) -> sqlx::Result<Option<SignUpView>> {
    let (guild, user, since) = (db_id(guild.0), db_id(user.0), db_time(changes_since));
    let found = sqlx::query!(
        r#"SELECT m.id AS "id!", m.guild_id AS "guild_id!", m.host_id AS "host_id!", m.title,
               m.description, m.starts_at AS "starts_at!",
               m.duration_minutes AS "duration_minutes!", m.capacity AS "capacity!", m.location,
               m.time_zone, m.reminder_offsets, m.status, m.cancel_reason,
               m.sequence AS "sequence!", m.announcement_channel_id, m.announcement_message_id,
               m.thread_id, m.event_id,
               m.attending_count AS "attending!", m.waitlisted_count AS "waitlisted!",
               mine.status AS "my_status?", mine.arrival AS "my_arrival?",
               mine.is_guest AS "my_is_guest?: bool",
               (SELECT COUNT(*) FROM activity a INDEXED BY activity_by_actor
                WHERE a.actor_id = ?3 AND a.action IN ('joined', 'left') AND a.at > ?4
                  AND a.masterclass_id = m.id) AS "recent_changes!: i64"
           FROM masterclasses m
           LEFT JOIN participants mine ON mine.masterclass_id = m.id AND mine.user_id = ?3
           WHERE m.id = ?1 AND m.guild_id = ?2"#,
        id.0,
        guild,
        user,
        since,
    )
    .fetch_optional(conn)
    .await?;
    Ok(found.map(|r| {
        let counts = counts_from(r.attending, r.waitlisted);
        let mine = match (&r.my_status, r.my_arrival) {
            (Some(status), Some(arrival)) => Some(Participant {
                user_id: UserId(from_db_id(user)),
                status: status_from_stored(status),
                arrival,
                is_guest: r.my_is_guest.unwrap_or(false),
            }),
            _ => None,
        };
        let recent_changes = u32::try_from(r.recent_changes).unwrap_or(u32::MAX);
        SignUpView {
            masterclass: row_from!(r).into(),
            counts,
            mine,
            recent_changes,
        }
    }))
}

/// Writes the editable fields back and bumps the calendar sequence.
pub async fn update_details(conn: &mut SqliteConnection, mc: &Masterclass) -> sqlx::Result<()> {
    let location = mc.location.as_ref().map(Location::to_stored);
    let capacity = i64::from(mc.capacity);
    sqlx::query!(
        "UPDATE masterclasses SET title = ?, description = ?, location = ?, capacity = ?,
             sequence = sequence + 1 WHERE id = ?",
        mc.title,
        mc.description,
        location,
        capacity,
        mc.id.0,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn cancel(
    conn: &mut SqliteConnection,
    id: MasterclassId,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let now = db_time(now);
    sqlx::query!(
        "UPDATE masterclasses SET status = 'cancelled', cancel_reason = ?, cancelled_at = ?,
             sequence = sequence + 1 WHERE id = ?",
        reason,
        now,
        id.0,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the ids that are given (tests and set-up; the sync worker stores its own).
pub async fn set_discord_ids(
    conn: &mut SqliteConnection,
    id: MasterclassId,
    ids: DiscordIds,
) -> sqlx::Result<()> {
    let channel = ids.announcement_channel_id.map(|c| db_id(c.0));
    let message = ids.announcement_message_id.map(db_id);
    let thread = ids.thread_id.map(|c| db_id(c.0));
    let event = ids.event_id.map(db_id);
    sqlx::query!(
        "UPDATE masterclasses SET
             announcement_channel_id = COALESCE(?, announcement_channel_id),
             announcement_message_id = COALESCE(?, announcement_message_id),
             thread_id = COALESCE(?, thread_id), event_id = COALESCE(?, event_id)
         WHERE id = ?",
        channel,
        message,
        thread,
        event,
        id.0,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A listed masterclass with its seat counts.
pub type Listed = (Masterclass, Counts);

/// The upcoming masterclasses of a guild, soonest first, with their counts: one indexed read
/// (the guild's index, or the host's when one host is asked for).
pub async fn upcoming(
    conn: &mut SqliteConnection,
    guild: GuildId,
    host: Option<UserId>,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<Listed>> {
    let (guild, now) = (db_id(guild.0), db_time(now));
    // One query per index: the guild's, or the host's when one host is asked for.
    let listed = match host {
        None => sqlx::query!(
            r#"SELECT m.id AS "id!", m.guild_id AS "guild_id!", m.host_id AS "host_id!", m.title,
                   m.description, m.starts_at AS "starts_at!",
                   m.duration_minutes AS "duration_minutes!", m.capacity AS "capacity!",
                   m.location, m.time_zone, m.reminder_offsets, m.status, m.cancel_reason,
                   m.sequence AS "sequence!", m.announcement_channel_id,
                   m.announcement_message_id, m.thread_id, m.event_id,
                   m.attending_count AS "attending!", m.waitlisted_count AS "waitlisted!"
               FROM masterclasses m INDEXED BY masterclasses_by_guild
               WHERE m.guild_id = ? AND m.status = 'scheduled' AND m.starts_at > ?
               ORDER BY m.starts_at, m.id LIMIT ?"#,
            guild,
            now,
            limit,
        )
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| (counts_from(r.attending, r.waitlisted), row_from!(r)))
        .collect::<Vec<_>>(),
        Some(host) => {
            let host = db_id(host.0);
            sqlx::query!(
                r#"SELECT m.id AS "id!", m.guild_id AS "guild_id!", m.host_id AS "host_id!",
                       m.title, m.description, m.starts_at AS "starts_at!",
                       m.duration_minutes AS "duration_minutes!", m.capacity AS "capacity!",
                       m.location, m.time_zone, m.reminder_offsets, m.status, m.cancel_reason,
                       m.sequence AS "sequence!", m.announcement_channel_id,
                       m.announcement_message_id, m.thread_id, m.event_id,
                       m.attending_count AS "attending!", m.waitlisted_count AS "waitlisted!"
                   FROM masterclasses m INDEXED BY masterclasses_by_host
                   WHERE m.guild_id = ? AND m.host_id = ? AND m.starts_at > ?
                     AND m.status = 'scheduled'
                   ORDER BY m.starts_at, m.id LIMIT ?"#,
                guild,
                host,
                now,
                limit,
            )
            .fetch_all(conn)
            .await?
            .into_iter()
            .map(|r| (counts_from(r.attending, r.waitlisted), row_from!(r)))
            .collect()
        }
    };
    Ok(listed
        .into_iter()
        .map(|(counts, row)| (row.into(), counts))
        .collect())
}

/// How a member takes part in a masterclass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Hosting,
    Attending,
    Waitlisted,
}

/// Which of a member's masterclasses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// Scheduled and not over yet (in progress included).
    Upcoming,
    /// Scheduled and over.
    Past,
    Cancelled,
}

/// A member's masterclasses in a guild, hosting and signed up, in one indexed read (the host
/// index and the member's sign-ups), soonest first; at most `limit`.
pub async fn of_member(
    conn: &mut SqliteConnection,
    guild: GuildId,
    user: UserId,
    period: Period,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<(Masterclass, Role)>> {
    let (guild, user, now) = (db_id(guild.0), db_id(user.0), db_time(now));
    let period = match period {
        Period::Upcoming => "upcoming",
        Period::Past => "past",
        Period::Cancelled => "cancelled",
    };
    let rows = sqlx::query!(
        r#"SELECT m.id AS "id!", m.guild_id AS "guild_id!", m.host_id AS "host_id!", m.title,
               m.description, m.starts_at AS "starts_at!",
               m.duration_minutes AS "duration_minutes!", m.capacity AS "capacity!", m.location,
               m.time_zone, m.reminder_offsets, m.status, m.cancel_reason,
               m.sequence AS "sequence!", m.announcement_channel_id, m.announcement_message_id,
               m.thread_id, m.event_id, 'hosting' AS "role!: String"
           FROM masterclasses m INDEXED BY masterclasses_by_host
           WHERE m.guild_id = ?1 AND m.host_id = ?2
             AND CASE ?3
                 WHEN 'cancelled' THEN m.status = 'cancelled'
                 WHEN 'past' THEN m.status = 'scheduled' AND m.starts_at + m.duration_minutes * 60 <= ?4
                 ELSE m.status = 'scheduled' AND m.starts_at + m.duration_minutes * 60 > ?4 END
           UNION ALL
           SELECT m.id AS "id!", m.guild_id AS "guild_id!", m.host_id AS "host_id!", m.title,
               m.description, m.starts_at AS "starts_at!",
               m.duration_minutes AS "duration_minutes!", m.capacity AS "capacity!", m.location,
               m.time_zone, m.reminder_offsets, m.status, m.cancel_reason,
               m.sequence AS "sequence!", m.announcement_channel_id, m.announcement_message_id,
               m.thread_id, m.event_id, p.status AS "role!: String"
           FROM participants p INDEXED BY participants_by_user
           JOIN masterclasses m ON m.id = p.masterclass_id
           WHERE p.user_id = ?2 AND m.guild_id = ?1
             AND CASE ?3
                 WHEN 'cancelled' THEN m.status = 'cancelled'
                 WHEN 'past' THEN m.status = 'scheduled' AND m.starts_at + m.duration_minutes * 60 <= ?4
                 ELSE m.status = 'scheduled' AND m.starts_at + m.duration_minutes * 60 > ?4 END
           LIMIT ?5"#,
        guild,
        user,
        period,
        now,
        limit,
    )
    .fetch_all(conn)
    .await?;
    // A member's sessions are few: sorting them here keeps the query free of a temporary sort.
    let mut sessions: Vec<(Masterclass, Role)> = rows
        .into_iter()
        .map(|r| {
            let role = match r.role.as_str() {
                "hosting" => Role::Hosting,
                "attending" => Role::Attending,
                _ => Role::Waitlisted,
            };
            (Masterclass::from(row_from!(r)), role)
        })
        .collect();
    sessions.sort_by_key(|(mc, _)| (mc.starts_at, mc.id.0));
    Ok(sessions)
}

/// Candidates a title search looks at through the trigram index before it falls back to
/// walking the guild's upcoming masterclasses in order (a fragment that common is found soon).
const FEW_MATCHES: i64 = 500;

/// Title search for autocomplete over what can be joined, left or cancelled: the guild's
/// upcoming masterclasses, soonest first. Bounded work whatever the guild's size: a fragment of
/// three characters or more goes through the trigram index when it matches few titles; else
/// the guild's upcoming masterclasses are walked in start order until `limit` match.
pub async fn search(
    conn: &mut SqliteConnection,
    guild: GuildId,
    fragment: &str,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<Masterclass>> {
    let (guild, now) = (db_id(guild.0), db_time(now));
    let fragment = fragment.trim();
    if fragment.chars().count() >= 3 {
        // FTS5 trigram: the fragment as one quoted phrase, its quotes doubled.
        let phrase = format!("\"{}\"", fragment.replace('"', "\"\""));
        let matches = sqlx::query_scalar!(
            r#"SELECT COUNT(*) AS "n!: i64" FROM (
                   SELECT rowid FROM masterclass_titles WHERE masterclass_titles MATCH ? LIMIT ?)"#,
            phrase,
            FEW_MATCHES,
        )
        .fetch_one(&mut *conn)
        .await?;
        if matches < FEW_MATCHES {
            let rows = sqlx::query_as!(
                Row,
                r#"SELECT id AS "id!", guild_id AS "guild_id!", host_id AS "host_id!", title,
                       description, starts_at AS "starts_at!",
                       duration_minutes AS "duration_minutes!", capacity AS "capacity!",
                       location, time_zone, reminder_offsets, status, cancel_reason,
                       sequence AS "sequence!", announcement_channel_id,
                       announcement_message_id, thread_id, event_id
                   FROM masterclasses
                   WHERE id IN (SELECT rowid FROM masterclass_titles
                                WHERE masterclass_titles MATCH ?)
                     AND guild_id = ? AND status = 'scheduled' AND starts_at > ?"#,
                phrase,
                guild,
                now,
            )
            .fetch_all(&mut *conn)
            .await?;
            let mut found: Vec<Masterclass> = rows.into_iter().map(Into::into).collect();
            found.sort_by_key(|mc| (mc.starts_at, mc.id.0));
            found.truncate(limit.max(0) as usize);
            return Ok(found);
        }
    }
    let pattern = format!(
        "%{}%",
        fragment
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id AS "id!", guild_id AS "guild_id!", host_id AS "host_id!", title,
               description, starts_at AS "starts_at!", duration_minutes AS "duration_minutes!",
               capacity AS "capacity!", location, time_zone, reminder_offsets, status,
               cancel_reason, sequence AS "sequence!", announcement_channel_id,
               announcement_message_id, thread_id, event_id
           FROM masterclasses INDEXED BY masterclasses_by_guild
           WHERE guild_id = ? AND status = 'scheduled' AND starts_at > ?
             AND title LIKE ? ESCAPE '\'
           ORDER BY starts_at, id LIMIT ?"#,
        guild,
        now,
        pattern,
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Every masterclass a member hosts, in every guild (their data, or what forget-me cancels).
pub async fn hosted_by(
    conn: &mut SqliteConnection,
    host: UserId,
) -> sqlx::Result<Vec<Masterclass>> {
    let host = db_id(host.0);
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id AS "id!", guild_id AS "guild_id!", host_id AS "host_id!", title AS "title!",
             description AS "description!", starts_at AS "starts_at!",
             duration_minutes AS "duration_minutes!", capacity AS "capacity!", location,
             time_zone AS "time_zone!", reminder_offsets AS "reminder_offsets!",
             status AS "status!", cancel_reason, sequence AS "sequence!",
             announcement_channel_id, announcement_message_id, thread_id, event_id
         FROM masterclasses WHERE host_id = ? ORDER BY id"#,
        host,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Every sign-up of a member, in every guild, with its masterclass.
pub async fn signed_up_by(
    conn: &mut SqliteConnection,
    user: UserId,
) -> sqlx::Result<Vec<(Masterclass, Participant, DateTime<Utc>)>> {
    let user = db_id(user.0);
    let rows = sqlx::query!(
        r#"SELECT m.id AS "id!", m.guild_id AS "guild_id!", m.host_id AS "host_id!", m.title,
               m.description, m.starts_at AS "starts_at!",
               m.duration_minutes AS "duration_minutes!", m.capacity AS "capacity!", m.location,
               m.time_zone, m.reminder_offsets, m.status, m.cancel_reason,
               m.sequence AS "sequence!", m.announcement_channel_id, m.announcement_message_id,
               m.thread_id, m.event_id, p.status AS "seat", p.arrival, p.joined_at,
               p.is_guest AS "is_guest: bool"
           FROM participants p INDEXED BY participants_by_user
           JOIN masterclasses m ON m.id = p.masterclass_id
           WHERE p.user_id = ?"#,
        user,
    )
    .fetch_all(conn)
    .await?;
    let mut sign_ups: Vec<_> = rows
        .into_iter()
        .map(|r| {
            let seat = Participant {
                user_id: UserId(from_db_id(user)),
                status: status_from_stored(&r.seat),
                arrival: r.arrival,
                is_guest: r.is_guest,
            };
            let joined_at = from_db_time(r.joined_at);
            (Masterclass::from(row_from!(r)), seat, joined_at)
        })
        .collect();
    // A member's sign-ups are few: sorted here, not in a temporary tree.
    sign_ups.sort_by_key(|(mc, seat, _)| (mc.starts_at, seat.arrival));
    Ok(sign_ups)
}
