//! The outbox: notifications written in the same transaction as the change that causes them,
//! delivered later by the worker.

use super::{db_id, db_time, from_db_id, from_db_time};
use crate::domain::{Channel, GuildId, MasterclassId, NoticeKind, UserId};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

/// A notification to write.
#[derive(Clone, Debug)]
pub struct NewNotice {
    pub guild_id: GuildId,
    pub masterclass_id: Option<MasterclassId>,
    pub recipient_id: Option<UserId>,
    pub channel: Channel,
    pub kind: NoticeKind,
    pub payload: serde_json::Value,
    pub due_at: DateTime<Utc>,
    /// Writing the same key twice keeps the first row: one event, one notification.
    pub dedupe_key: String,
}

/// Writes notifications in one statement. A row whose dedupe key exists is skipped: one event,
/// one notification.
pub async fn enqueue_all(
    conn: &mut SqliteConnection,
    notices: &[NewNotice],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    if notices.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = notices
        .iter()
        .map(|n| {
            serde_json::json!([
                db_id(n.guild_id.0),
                n.masterclass_id.map(|m| m.0),
                n.recipient_id.map(|u| db_id(u.0)),
                n.channel.as_str(),
                n.kind.as_str(),
                n.payload.to_string(),
                db_time(n.due_at),
                n.dedupe_key,
            ])
        })
        .collect();
    let (now, rows) = (db_time(now), serde_json::Value::Array(rows).to_string());
    // `WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint.
    sqlx::query!(
        "INSERT INTO outbox (guild_id, masterclass_id, recipient_id, channel, kind, payload, due_at, dedupe_key, created_at)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7, ?
         FROM json_each(?) WHERE true
         ON CONFLICT (dedupe_key) DO NOTHING",
        now,
        rows,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Voids a member's pending notifications of the given kinds for one masterclass.
pub async fn void_for_member(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    user: UserId,
    kinds: &[NoticeKind],
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    void(conn, mc, Some(user), kinds, now).await
}

/// Voids every pending notification of the given kinds for one masterclass (thread rows included).
pub async fn void_for_masterclass(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    kinds: &[NoticeKind],
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    void(conn, mc, None, kinds, now).await
}

async fn void(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    user: Option<UserId>,
    kinds: &[NoticeKind],
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let kinds = serde_json::to_string(&kinds).expect("strings");
    let (now, user) = (db_time(now), user.map(|u| db_id(u.0)));
    let result = sqlx::query!(
        "UPDATE outbox SET voided_at = ?1
         WHERE masterclass_id = ?2 AND (?3 IS NULL OR recipient_id = ?3)
           AND kind IN (SELECT value FROM json_each(?4))
           AND delivered_at IS NULL AND voided_at IS NULL AND failed_at IS NULL",
        now,
        mc.0,
        user,
        kinds,
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// A stored notification.
#[derive(Clone, Debug)]
pub struct Notice {
    pub id: i64,
    pub guild_id: GuildId,
    pub masterclass_id: Option<MasterclassId>,
    pub recipient_id: Option<UserId>,
    pub channel: Channel,
    pub kind: NoticeKind,
    pub payload: serde_json::Value,
    pub due_at: DateTime<Utc>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub dedupe_key: String,
    /// When the worker first failed to deliver it (an error or a rate limit), if it has: its
    /// time budget (`give_up_after`) runs from then. Kept once the row is settled.
    pub retrying_since: Option<DateTime<Utc>>,
}

struct Row {
    id: i64,
    guild_id: i64,
    masterclass_id: Option<i64>,
    recipient_id: Option<i64>,
    channel: String,
    kind: String,
    payload: String,
    due_at: i64,
    attempts: i64,
    last_error: Option<String>,
    delivered_at: Option<i64>,
    voided_at: Option<i64>,
    failed_at: Option<i64>,
    dedupe_key: String,
    retrying_since: Option<i64>,
}

impl TryFrom<Row> for Notice {
    type Error = anyhow::Error;
    fn try_from(row: Row) -> anyhow::Result<Notice> {
        Ok(Notice {
            id: row.id,
            guild_id: GuildId(from_db_id(row.guild_id)),
            masterclass_id: row.masterclass_id.map(MasterclassId),
            recipient_id: row.recipient_id.map(|u| UserId(from_db_id(u))),
            channel: Channel::from_stored(&row.channel).ok_or_else(|| {
                anyhow::anyhow!("unknown channel {:?} in outbox row {}", row.channel, row.id)
            })?,
            kind: NoticeKind::from_stored(&row.kind).ok_or_else(|| {
                anyhow::anyhow!("unknown kind {:?} in outbox row {}", row.kind, row.id)
            })?,
            payload: serde_json::from_str(&row.payload)?,
            due_at: from_db_time(row.due_at),
            attempts: row.attempts as u32,
            last_error: row.last_error,
            delivered_at: row.delivered_at.map(from_db_time),
            voided_at: row.voided_at.map(from_db_time),
            failed_at: row.failed_at.map(from_db_time),
            dedupe_key: row.dedupe_key,
            retrying_since: row.retrying_since.map(from_db_time),
        })
    }
}

fn convert(rows: Vec<Row>) -> anyhow::Result<Vec<Notice>> {
    rows.into_iter().map(Notice::try_from).collect()
}

/// Every notification, oldest first (tests and admin views).
pub async fn all(conn: &mut SqliteConnection) -> anyhow::Result<Vec<Notice>> {
    let rows = sqlx::query_as!(
        Row,
        "SELECT id, guild_id, masterclass_id, recipient_id, channel, kind, payload, due_at,
             attempts, last_error, delivered_at, voided_at, failed_at, dedupe_key, retrying_since
         FROM outbox ORDER BY id"
    )
    .fetch_all(conn)
    .await?;
    convert(rows)
}

/// Takes up to `limit` due rows on these channels for `lease` and counts the attempt before
/// sending, so a crash after sending costs at most one duplicate and never an unbounded retry
/// loop. Email and Discord are claimed separately, so a slow one never holds up the other.
pub async fn claim_due_on(
    conn: &mut SqliteConnection,
    channels: &[Channel],
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> anyhow::Result<Vec<Notice>> {
    let (until, now, channels) = (db_time(now + lease), db_time(now), channel_list(channels));
    let rows = sqlx::query_as!(
        Row,
        r#"UPDATE outbox SET claimed_until = ?1, attempts = attempts + 1
           WHERE id IN (
               SELECT id FROM outbox INDEXED BY outbox_pending
               WHERE delivered_at IS NULL AND voided_at IS NULL AND failed_at IS NULL
                 AND due_at <= ?2 AND (claimed_until IS NULL OR claimed_until <= ?2)
                 AND channel IN (SELECT value FROM json_each(?4))
               ORDER BY due_at LIMIT ?3)
           RETURNING id AS "id!", guild_id AS "guild_id!", masterclass_id AS "masterclass_id?",
               recipient_id AS "recipient_id?", channel AS "channel!", kind AS "kind!",
               payload AS "payload!", due_at AS "due_at!", attempts AS "attempts!",
               last_error AS "last_error?", delivered_at AS "delivered_at?",
               voided_at AS "voided_at?", failed_at AS "failed_at?", dedupe_key AS "dedupe_key!",
               retrying_since AS "retrying_since?""#,
        until,
        now,
        limit,
        channels,
    )
    .fetch_all(conn)
    .await?;
    let mut notices = convert(rows)?;
    notices.sort_by_key(|n| (n.due_at, n.id));
    Ok(notices)
}

fn channel_list(channels: &[Channel]) -> String {
    let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
    serde_json::to_string(&names).expect("strings")
}

/// Claims the other pending rows of the same masterclass, kind, channel and payload that have a
/// recipient, due or not (`like` itself is claimed already). Thread mentions standing in for
/// refused DMs of one event are claimed together so they go out as one message.
pub async fn claim_same_event(
    conn: &mut SqliteConnection,
    like: &Notice,
    now: DateTime<Utc>,
    lease: chrono::Duration,
) -> anyhow::Result<Vec<Notice>> {
    let (until, now) = (db_time(now + lease), db_time(now));
    let masterclass = like.masterclass_id.map(|m| m.0);
    let (kind, channel, payload) = (
        like.kind.as_str(),
        like.channel.as_str(),
        like.payload.to_string(),
    );
    let rows = sqlx::query_as!(
        Row,
        r#"UPDATE outbox SET claimed_until = ?1, attempts = attempts + 1
           WHERE masterclass_id IS ?3 AND kind = ?4 AND channel = ?5 AND payload = ?6
             AND recipient_id IS NOT NULL
             AND delivered_at IS NULL AND voided_at IS NULL AND failed_at IS NULL
             AND (claimed_until IS NULL OR claimed_until <= ?2)
           RETURNING id AS "id!", guild_id AS "guild_id!", masterclass_id AS "masterclass_id?",
               recipient_id AS "recipient_id?", channel AS "channel!", kind AS "kind!",
               payload AS "payload!", due_at AS "due_at!", attempts AS "attempts!",
               last_error AS "last_error?", delivered_at AS "delivered_at?",
               voided_at AS "voided_at?", failed_at AS "failed_at?", dedupe_key AS "dedupe_key!",
               retrying_since AS "retrying_since?""#,
        until,
        now,
        masterclass,
        kind,
        channel,
        payload,
    )
    .fetch_all(conn)
    .await?;
    let mut notices = convert(rows)?;
    notices.sort_by_key(|n| n.id);
    Ok(notices)
}

/// When the next pending row on these channels falls due, if any.
pub async fn next_due(
    conn: &mut SqliteConnection,
    channels: &[Channel],
) -> sqlx::Result<Option<DateTime<Utc>>> {
    let channels = channel_list(channels);
    let due = sqlx::query_scalar!(
        r#"SELECT due_at AS "due_at!" FROM outbox INDEXED BY outbox_pending
           WHERE delivered_at IS NULL AND voided_at IS NULL AND failed_at IS NULL
             AND channel IN (SELECT value FROM json_each(?))
           ORDER BY due_at LIMIT 1"#,
        channels,
    )
    .fetch_optional(conn)
    .await?;
    Ok(due.map(from_db_time))
}

/// Frees every claim. Only one worker runs per database, so at start-up any claim was left by a
/// process that died; its rows are due again at once instead of when the lease runs out. Only
/// claimed rows are read (their own index), however many are pending.
pub async fn release_claims(conn: &mut SqliteConnection) -> sqlx::Result<u64> {
    let result = sqlx::query!(
        "UPDATE outbox INDEXED BY outbox_claimed SET claimed_until = NULL
         WHERE claimed_until IS NOT NULL",
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

// A verification code is not kept once its row is settled (sent, dropped or given up): every
// final state scrubs it (`CASE WHEN kind = 'verification_code' THEN '{}' ...`).

pub async fn mark_delivered(
    conn: &mut SqliteConnection,
    id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let now = db_time(now);
    sqlx::query!(
        "UPDATE outbox SET delivered_at = ?, claimed_until = NULL,
             payload = CASE WHEN kind = 'verification_code' THEN '{}' ELSE payload END
         WHERE id = ?",
        now,
        id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Not relevant any more (checked at delivery): recorded as voided with the reason. Returns
/// false if the row was voided already (a cancel or a forget-me while it was being sent): the
/// first reason stays.
pub async fn mark_voided(
    conn: &mut SqliteConnection,
    id: i64,
    why: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let now = db_time(now);
    let done = sqlx::query!(
        "UPDATE outbox SET voided_at = ?, last_error = ?, claimed_until = NULL,
             payload = CASE WHEN kind = 'verification_code' THEN '{}' ELSE payload END
         WHERE id = ? AND voided_at IS NULL",
        now,
        why,
        id,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Not delivered this time: due again at `next_at`. `since` is the row's first failed attempt,
/// kept as `retrying_since` unless an earlier one is there already.
pub async fn schedule_retry(
    conn: &mut SqliteConnection,
    id: i64,
    error: &str,
    next_at: DateTime<Utc>,
    since: DateTime<Utc>,
) -> sqlx::Result<()> {
    let (next_at, since) = (db_time(next_at), db_time(since));
    sqlx::query!(
        "UPDATE outbox SET last_error = ?, due_at = ?, claimed_until = NULL,
             retrying_since = COALESCE(retrying_since, ?)
         WHERE id = ? AND voided_at IS NULL",
        error,
        next_at,
        since,
        id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives a row up with the reason, which admins see. `counted: false` gives the attempt back
/// (a row that ran out of time while Discord rate-limited it: no rate limit is an attempt).
pub async fn mark_failed(
    conn: &mut SqliteConnection,
    id: i64,
    error: &str,
    now: DateTime<Utc>,
    counted: bool,
) -> sqlx::Result<()> {
    let now = db_time(now);
    sqlx::query!(
        "UPDATE outbox SET last_error = ?1, failed_at = ?2, claimed_until = NULL,
             payload = CASE WHEN kind = 'verification_code' THEN '{}' ELSE payload END,
             attempts = CASE WHEN ?4 THEN attempts ELSE MAX(attempts - 1, 0) END
         WHERE id = ?3 AND voided_at IS NULL",
        error,
        now,
        id,
        counted,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts a row back without counting the attempt: Discord refused it (rate limit) before doing
/// anything, which says nothing about the notification. The time still counts: `since` is kept
/// as for [`schedule_retry`].
pub async fn postpone(
    conn: &mut SqliteConnection,
    id: i64,
    why: &str,
    next_at: DateTime<Utc>,
    since: DateTime<Utc>,
) -> sqlx::Result<()> {
    let (next_at, since) = (db_time(next_at), db_time(since));
    sqlx::query!(
        "UPDATE outbox SET last_error = ?, due_at = ?, claimed_until = NULL,
             attempts = MAX(attempts - 1, 0), retrying_since = COALESCE(retrying_since, ?)
         WHERE id = ? AND voided_at IS NULL",
        why,
        next_at,
        since,
        id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves a row's progress, e.g. which attendees a split thread message has already mentioned.
pub async fn set_payload(
    conn: &mut SqliteConnection,
    id: i64,
    payload: &serde_json::Value,
) -> sqlx::Result<()> {
    let payload = payload.to_string();
    sqlx::query!("UPDATE outbox SET payload = ? WHERE id = ?", payload, id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Undelivered rows of a guild that ran into trouble (an error, or given up), newest first:
/// for admins. Read through their own index, however many notifications are pending.
pub async fn troubled(
    conn: &mut SqliteConnection,
    guild: GuildId,
    limit: i64,
) -> anyhow::Result<Vec<Notice>> {
    let guild = db_id(guild.0);
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id AS "id!", guild_id AS "guild_id!", masterclass_id, recipient_id, channel,
               kind, payload, due_at AS "due_at!", attempts AS "attempts!", last_error,
               delivered_at, voided_at, failed_at, dedupe_key, retrying_since
           FROM outbox INDEXED BY outbox_troubled
           WHERE guild_id = ? AND delivered_at IS NULL AND voided_at IS NULL
             AND last_error IS NOT NULL
           ORDER BY id DESC LIMIT ?"#,
        guild,
        limit,
    )
    .fetch_all(conn)
    .await?;
    convert(rows)
}

/// Notifications that may still post in a masterclass's thread: its own messages, and the DMs
/// of the cancellation (a refused one is said in the thread instead). The thread is closed only
/// once there are none.
pub async fn pending_thread_posts(
    conn: &mut SqliteConnection,
    masterclass: MasterclassId,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM outbox INDEXED BY outbox_by_masterclass
           WHERE masterclass_id = ? AND delivered_at IS NULL AND voided_at IS NULL
             AND failed_at IS NULL
             AND (channel = 'thread' OR (channel = 'dm' AND kind = 'cancelled'))"#,
        masterclass.0,
    )
    .fetch_one(conn)
    .await
}

/// One of a host's latest notices about the sign-ups of their masterclass (`joined`, told at
/// once, or a `host_digest`), as the next change needs to know it.
#[derive(Clone, Debug)]
pub struct HostNotice {
    pub id: i64,
    pub kind: NoticeKind,
    pub payload: serde_json::Value,
    /// When the host was (or will be) told: a join's enqueue time, a digest's end of window.
    pub told_at: DateTime<Utc>,
    /// A digest not yet due and never tried: later changes are folded into it.
    pub open: bool,
}

/// The latest two host notices about `mc`'s sign-ups that were not voided (a digest whose
/// changes cancelled out, or a channel the host turned off, told nothing): the newest notice's
/// DM and email. Read newest first through `outbox_by_masterclass`, so only a few rows.
pub async fn latest_host_notices(
    conn: &mut SqliteConnection,
    mc: MasterclassId,
    host: UserId,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<HostNotice>> {
    let (host, now) = (db_id(host.0), db_time(now));
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", kind AS "kind!", payload AS "payload!",
               CASE kind WHEN 'host_digest' THEN CAST(payload ->> '$.until' AS INTEGER)
                         ELSE created_at END AS "told_at!: i64",
               (kind = 'host_digest' AND delivered_at IS NULL AND failed_at IS NULL
                AND attempts = 0 AND claimed_until IS NULL AND due_at > ?3) AS "open!: bool"
           FROM outbox INDEXED BY outbox_by_masterclass
           WHERE masterclass_id = ?1 AND recipient_id = ?2
             AND kind IN ('joined', 'host_digest') AND voided_at IS NULL
           ORDER BY id DESC LIMIT 2"#,
        mc.0,
        host,
        now,
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(HostNotice {
                id: row.id,
                kind: NoticeKind::from_stored(&row.kind).ok_or_else(|| {
                    anyhow::anyhow!("unknown kind {:?} in outbox row {}", row.kind, row.id)
                })?,
                payload: serde_json::from_str(&row.payload)?,
                told_at: from_db_time(row.told_at),
                open: row.open,
            })
        })
        .collect()
}
