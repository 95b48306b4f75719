-- Members own their data: the activity log stays append-only except for exactly two changes,
-- each allowed only while its use case runs, in its own transaction.
--
-- 1. Forget-me replaces a member's id with a tombstone (a negative number, never a Discord id):
--    the use case puts (member, tombstone) in `forgetting`, rewrites the rows that name the
--    member, and deletes the `forgetting` row before committing, so no table keeps the id.
-- 2. Retention deletes entries older than the horizon the retention job writes in `retention`.

CREATE TABLE forgetting (
    user_id   INTEGER PRIMARY KEY,
    tombstone INTEGER NOT NULL CHECK (tombstone < 0)
);

CREATE TABLE retention (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    activity_before INTEGER NOT NULL DEFAULT 0, -- activity strictly older may be deleted
    last_run_at     INTEGER                     -- the daily job's last run
);
INSERT INTO retention (id) VALUES (1);

DROP TRIGGER activity_no_update;
CREATE TRIGGER activity_no_update BEFORE UPDATE ON activity
WHEN NOT EXISTS (
    SELECT 1 FROM forgetting f
    WHERE NEW.id = OLD.id AND NEW.guild_id IS OLD.guild_id
      AND NEW.masterclass_id IS OLD.masterclass_id AND NEW.action = OLD.action AND NEW.at = OLD.at
      AND NEW.actor_id = CASE WHEN OLD.actor_id = f.user_id THEN f.tombstone ELSE OLD.actor_id END
      AND (NEW.detail = OLD.detail
           OR (instr(OLD.detail, f.user_id) > 0 AND json_valid(NEW.detail)
               AND (instr(NEW.detail, f.tombstone) > 0 OR instr(NEW.detail, f.user_id) = 0)))
)
BEGIN SELECT RAISE(ABORT, 'activity is append-only'); END;

DROP TRIGGER activity_no_delete;
CREATE TRIGGER activity_no_delete BEFORE DELETE ON activity
WHEN OLD.at >= (SELECT activity_before FROM retention WHERE id = 1)
BEGIN SELECT RAISE(ABORT, 'activity is append-only'); END;

-- Retention finds old rows by time.
CREATE INDEX activity_by_time ON activity (at);
CREATE INDEX outbox_finished ON outbox (COALESCE(delivered_at, voided_at))
    WHERE delivered_at IS NOT NULL OR voided_at IS NOT NULL;
-- Forget-me finds what a member hosted in every server.
CREATE INDEX masterclasses_by_host_anywhere ON masterclasses (host_id);
CREATE INDEX outbox_by_recipient ON outbox (recipient_id) WHERE recipient_id IS NOT NULL;
CREATE INDEX thread_members_by_user ON thread_members (user_id);

-- Failing work is retried for a time (notifications.give_up_after_hours), not a count of
-- attempts, so a route Discord rate-limits for ever still ends in /masterclass-admin deliveries.
-- The budget runs from the first failed attempt, kept apart from what is delivered.
ALTER TABLE outbox ADD COLUMN retrying_since INTEGER; -- first failed attempt (unix seconds): the give-up budget runs from it
ALTER TABLE discord_sync ADD COLUMN retrying_since INTEGER; -- the same for a masterclass's Discord side

-- A change to a masterclass starts its Discord side's budget afresh, as it resets the attempts:
-- the triggers of 0003, each clearing retrying_since too.
DROP TRIGGER discord_sync_on_change;
CREATE TRIGGER discord_sync_on_change
AFTER UPDATE OF title, description, location, capacity, status ON masterclasses
BEGIN
    UPDATE discord_sync
    SET due_at = 0, version = version + 1, attempts = 0, failed_at = NULL, retrying_since = NULL
    WHERE masterclass_id = NEW.id
      AND NOT (due_at IS 0 AND claimed_until IS NULL AND failed_at IS NULL);
END;
DROP TRIGGER discord_sync_on_sign_up;
CREATE TRIGGER discord_sync_on_sign_up AFTER INSERT ON participants
BEGIN
    UPDATE discord_sync
    SET due_at = 0, version = version + 1, attempts = 0, failed_at = NULL, retrying_since = NULL
    WHERE masterclass_id = NEW.masterclass_id
      AND NOT (due_at IS 0 AND claimed_until IS NULL AND failed_at IS NULL);
END;
DROP TRIGGER discord_sync_on_promotion;
CREATE TRIGGER discord_sync_on_promotion AFTER UPDATE OF status ON participants
BEGIN
    UPDATE discord_sync
    SET due_at = 0, version = version + 1, attempts = 0, failed_at = NULL, retrying_since = NULL
    WHERE masterclass_id = NEW.masterclass_id
      AND NOT (due_at IS 0 AND claimed_until IS NULL AND failed_at IS NULL);
END;
DROP TRIGGER discord_sync_on_departure;
CREATE TRIGGER discord_sync_on_departure AFTER DELETE ON participants
BEGIN
    UPDATE discord_sync
    SET due_at = 0, version = version + 1, attempts = 0, failed_at = NULL, retrying_since = NULL
    WHERE masterclass_id = OLD.masterclass_id
      AND NOT (due_at IS 0 AND claimed_until IS NULL AND failed_at IS NULL);
END;

-- The members a pending host digest names, a row each, apart from the digest's payload: a join
-- writes one small row however many joined in the window (rowid: the order of first change).
CREATE TABLE host_digest_changes (
    masterclass_id INTEGER NOT NULL,
    until          INTEGER NOT NULL, -- the digest's end of window (its payload's `until`)
    member         INTEGER NOT NULL,
    before         TEXT    NOT NULL CHECK (before IN ('out', 'attending', 'waitlisted')),
    now            TEXT    NOT NULL CHECK (now IN ('out', 'attending', 'waitlisted')),
    UNIQUE (masterclass_id, until, member)
);
CREATE INDEX host_digest_changes_by_member ON host_digest_changes (member);
CREATE INDEX host_digest_changes_by_until ON host_digest_changes (until);
