//! Shared set-up: a fresh migrated SQLite file per test, callers, a fixed clock.

use chrono::{DateTime, TimeZone, Utc};
use masterclass_bot::domain::{Caller, ChannelId, GuildId, MasterclassId, RoleId, UserId};
use masterclass_bot::service::{GuildSettingsChange, HostRequest, Hosted, Service};
use masterclass_bot::store::outbox::{self, Notice};
use masterclass_bot::store::Db;
use sqlx::Row;
use tempfile::TempDir;

pub const GUILD: GuildId = GuildId(900_000_000_000_000_001);
pub const OTHER_GUILD: GuildId = GuildId(900_000_000_000_000_002);
pub const HOST_ROLE: RoleId = RoleId(700);
pub const ANNOUNCEMENTS: ChannelId = ChannelId(800);
pub const ADMIN: UserId = UserId(1);
pub const MENTOR: UserId = UserId(2);

/// 2026-03-10 12:00 UTC: every test's "now" unless it moves the clock itself.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
}

pub struct TestApp {
    pub service: Service,
    pub db: Db,
    /// Keeps the database folder alive for the test.
    pub _dir: TempDir,
}

/// A fresh database file, migrated, behind the real service.
pub async fn spawn_service() -> TestApp {
    crate::support::log::init();
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = Db::open(&dir.path().join("test.db"), 4)
        .await
        .expect("database opens");
    TestApp {
        service: Service::new(db.clone()),
        db,
        _dir: dir,
    }
}

pub fn caller(guild: GuildId, user: UserId) -> Caller {
    Caller {
        guild_id: guild,
        user_id: user,
        role_ids: vec![],
        is_admin: false,
    }
}

pub fn admin(guild: GuildId) -> Caller {
    Caller {
        is_admin: true,
        ..caller(guild, ADMIN)
    }
}

pub fn mentor(guild: GuildId) -> Caller {
    Caller {
        role_ids: vec![HOST_ROLE],
        ..caller(guild, MENTOR)
    }
}

pub fn member(n: u64) -> Caller {
    caller(GUILD, UserId(10_000 + n))
}

pub fn request(title: &str) -> HostRequest {
    HostRequest {
        title: title.into(),
        description: "Ownership, borrowing and lifetimes, with live coding.".into(),
        start: "2026-03-14 18:00".into(),
        duration_minutes: Some("90".into()),
        capacity: Some("2".into()),
        ..HostRequest::default()
    }
}

impl TestApp {
    /// Admin switches masterclasses on with a host role and an announcement channel.
    pub async fn enable(&self, guild: GuildId) {
        let change = GuildSettingsChange {
            enabled: Some(true),
            host_role_id: Some(HOST_ROLE),
            announcement_channel_id: Some(ANNOUNCEMENTS),
            ..Default::default()
        };
        self.service
            .update_guild_settings(&admin(guild), change, now())
            .await
            .expect("admin enables");
    }

    /// The mentor hosts `request` on GUILD (enabled first).
    pub async fn host(&self, request: HostRequest) -> Hosted {
        self.enable(GUILD).await;
        let mentor = mentor(GUILD);
        let new = self
            .service
            .prepare_host(&mentor, request, now())
            .await
            .expect("valid request");
        self.service
            .host(&mentor, new, now())
            .await
            .expect("hosted")
    }

    pub async fn host_default(&self) -> MasterclassId {
        self.host(request("Rust ownership")).await.masterclass.id
    }

    pub async fn outbox(&self) -> Vec<Notice> {
        let mut conn = self.db.reader().acquire().await.unwrap();
        outbox::all(&mut conn).await.unwrap()
    }

    /// Every row of every table, as text: two dumps are equal iff nothing changed.
    pub async fn dump(&self) -> Vec<String> {
        let mut conn = self.db.reader().acquire().await.unwrap();
        dump(&mut conn).await
    }
}

/// Every row of every table of a database, as text, one line per row: `table: 'a'|1|NULL`.
pub async fn dump(conn: &mut sqlx::SqliteConnection) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        // The title search index is derived from masterclasses (and its tables have no rowid).
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
         AND name NOT LIKE 'masterclass_titles%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query(&format!("PRAGMA table_info({table})"))
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>("name"))
            .collect();
        let select = columns
            .iter()
            .map(|c| format!("quote({c})"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT {select} FROM {table} ORDER BY 1"))
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        out.extend(rows.into_iter().map(|row| format!("{table}: {row}")));
    }
    out
}

/// Whether `text` holds the number `id` on its own (not inside a longer number).
pub fn names_id(text: &str, id: u64) -> bool {
    let id = id.to_string();
    text.match_indices(&id).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + id.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '-')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}
