-- Times are unix seconds (UTC). Discord ids are stored as INTEGER through store::db_id.

CREATE TABLE guild_settings (
    guild_id                INTEGER PRIMARY KEY,
    enabled                 INTEGER NOT NULL DEFAULT 0,
    host_role_id            INTEGER,
    announcement_channel_id INTEGER,
    default_capacity        INTEGER NOT NULL DEFAULT 40,
    reminder_offsets        TEXT    NOT NULL DEFAULT '[1440,15]', -- JSON array of minutes before start
    time_zone               TEXT    NOT NULL DEFAULT 'UTC',
    support_text            TEXT,
    public_threads          INTEGER NOT NULL DEFAULT 0,
    updated_at              INTEGER NOT NULL
);

CREATE TABLE member_settings (
    user_id            INTEGER PRIMARY KEY,
    time_zone          TEXT,
    dm_enabled         INTEGER NOT NULL DEFAULT 1,
    email_enabled      INTEGER NOT NULL DEFAULT 1,
    email              TEXT,                    -- verified address, if any
    pending_email      TEXT,                    -- address waiting for its code
    code_hash          TEXT,                    -- sha256 of the pending code, never the code
    code_expires_at    INTEGER,
    code_failures      INTEGER NOT NULL DEFAULT 0,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE masterclasses (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id                INTEGER NOT NULL,
    host_id                 INTEGER NOT NULL,
    title                   TEXT    NOT NULL,
    description             TEXT    NOT NULL,
    starts_at               INTEGER NOT NULL,
    duration_minutes        INTEGER NOT NULL,
    capacity                INTEGER NOT NULL,
    location                TEXT,                -- "channel:<id>" or an http(s) URL
    time_zone               TEXT    NOT NULL,    -- the zone the start was read in
    reminder_offsets        TEXT    NOT NULL,    -- the server's offsets when it was hosted (JSON minutes)
    status                  TEXT    NOT NULL CHECK (status IN ('scheduled', 'cancelled')),
    cancel_reason           TEXT,
    cancelled_at            INTEGER,
    sequence                INTEGER NOT NULL DEFAULT 0, -- iCalendar SEQUENCE, bumped on every visible change
    announcement_channel_id INTEGER,
    announcement_message_id INTEGER,
    thread_id               INTEGER,
    event_id                INTEGER,
    created_at              INTEGER NOT NULL
);
CREATE INDEX masterclasses_by_guild ON masterclasses (guild_id, status, starts_at);
CREATE INDEX masterclasses_by_host ON masterclasses (guild_id, host_id, starts_at);

CREATE TABLE participants (
    masterclass_id INTEGER NOT NULL REFERENCES masterclasses (id),
    user_id        INTEGER NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('attending', 'waitlisted')),
    arrival        INTEGER NOT NULL, -- arrival order within the masterclass: the waitlist is served by it
    is_guest       INTEGER NOT NULL DEFAULT 0,
    joined_at      INTEGER NOT NULL,
    PRIMARY KEY (masterclass_id, user_id),
    UNIQUE (masterclass_id, arrival)
);
CREATE INDEX participants_by_status ON participants (masterclass_id, status, arrival);
CREATE INDEX participants_by_user ON participants (user_id);

CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY, -- rows are never deleted, so rowids never repeat
    guild_id       INTEGER NOT NULL,
    masterclass_id INTEGER REFERENCES masterclasses (id),
    recipient_id   INTEGER,          -- NULL for thread messages
    channel        TEXT    NOT NULL CHECK (channel IN ('dm', 'email', 'thread')),
    kind           TEXT    NOT NULL,
    payload        TEXT    NOT NULL, -- JSON
    due_at         INTEGER NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    claimed_until  INTEGER,          -- a worker holds the row until then
    delivered_at   INTEGER,
    voided_at      INTEGER,          -- no longer relevant (member left, masterclass cancelled)
    failed_at      INTEGER,          -- gave up
    dedupe_key     TEXT    NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL
);
CREATE INDEX outbox_pending ON outbox (due_at) WHERE delivered_at IS NULL AND voided_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_by_masterclass ON outbox (masterclass_id, recipient_id);
CREATE INDEX outbox_undelivered_by_guild ON outbox (guild_id, id) WHERE delivered_at IS NULL AND voided_at IS NULL;

CREATE TABLE activity (
    id             INTEGER PRIMARY KEY, -- rows are never deleted, so rowids never repeat
    guild_id       INTEGER,
    masterclass_id INTEGER,
    actor_id       INTEGER NOT NULL,
    action         TEXT    NOT NULL,
    detail         TEXT    NOT NULL DEFAULT '{}',
    at             INTEGER NOT NULL
);
CREATE INDEX activity_by_actor ON activity (actor_id, action, at);

CREATE TRIGGER activity_no_update BEFORE UPDATE ON activity
BEGIN SELECT RAISE(ABORT, 'activity is append-only'); END;
CREATE TRIGGER activity_no_delete BEFORE DELETE ON activity
BEGIN SELECT RAISE(ABORT, 'activity is append-only'); END;
