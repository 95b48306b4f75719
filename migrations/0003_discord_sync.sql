-- The Discord side of each masterclass, reconciled by the sync worker (src/discord/sync).
-- Every change to what Discord should show marks the masterclass due in its own transaction
-- (the triggers below, so no use case can forget it); the worker claims due rows, makes Discord
-- match the database and records what Discord now shows.

CREATE TABLE discord_sync (
    masterclass_id         INTEGER PRIMARY KEY REFERENCES masterclasses (id),
    guild_id               INTEGER NOT NULL,
    due_at                 INTEGER,           -- NULL: in step, nothing ahead; 0: at once
    version                INTEGER NOT NULL DEFAULT 0, -- bumped by every change
    attempts               INTEGER NOT NULL DEFAULT 0,
    last_error             TEXT,
    failed_at              INTEGER,           -- gave up (until the next change)
    claimed_until          INTEGER,
    -- A create was sent (or about to be): after a crash, look for the object before creating it.
    announcement_intent_at INTEGER,
    thread_intent_at       INTEGER,
    event_intent_at        INTEGER,
    -- What Discord shows, as far as the worker knows (fingerprints of what it last sent).
    announcement_shown     TEXT,
    thread_name            TEXT,
    intro_intent_at        INTEGER,           -- the thread's opening message is being posted
    intro_posted           INTEGER NOT NULL DEFAULT 0,
    thread_state           TEXT NOT NULL DEFAULT 'open' CHECK (thread_state IN ('open', 'archived', 'closed')),
    -- Times Discord said it archived the thread (inactivity), and how many the worker handled:
    -- counted apart from thread_state, so a pass in flight cannot overwrite the news.
    archived_by_discord    INTEGER NOT NULL DEFAULT 0,
    archived_handled       INTEGER NOT NULL DEFAULT 0,
    event_shown            TEXT,
    event_status           INTEGER            -- 1 scheduled, 2 active, 3 completed, 4 canceled
);
CREATE INDEX discord_sync_due ON discord_sync (due_at) WHERE due_at IS NOT NULL AND failed_at IS NULL;
CREATE INDEX discord_sync_failed ON discord_sync (guild_id) WHERE failed_at IS NOT NULL OR last_error IS NOT NULL;

-- Members the worker has added to a masterclass's thread (Discord's side as the worker made it).
CREATE TABLE thread_members (
    masterclass_id INTEGER NOT NULL REFERENCES masterclasses (id),
    user_id        INTEGER NOT NULL,
    PRIMARY KEY (masterclass_id, user_id)
);

CREATE INDEX masterclasses_by_thread ON masterclasses (thread_id) WHERE thread_id IS NOT NULL;
CREATE INDEX masterclasses_by_event ON masterclasses (event_id) WHERE event_id IS NOT NULL;

-- Masterclasses hosted before this migration: what they show was made by the old code; bring
-- every one in step once.
INSERT INTO discord_sync (masterclass_id, guild_id, due_at, thread_state)
SELECT id, guild_id, 0, CASE WHEN status = 'cancelled' THEN 'closed' ELSE 'open' END
FROM masterclasses;
INSERT INTO thread_members (masterclass_id, user_id)
SELECT id, host_id FROM masterclasses WHERE thread_id IS NOT NULL
UNION
SELECT p.masterclass_id, p.user_id FROM participants p JOIN masterclasses m ON m.id = p.masterclass_id
WHERE m.thread_id IS NOT NULL AND p.status = 'attending';

-- A change marks its masterclass due at once (0: whatever the clock says) and re-arms a sync
-- that gave up. Columns the sync worker itself writes (the Discord ids) are not watched. A row
-- already due and not claimed needs nothing more (a burst of joins writes it once).
CREATE TRIGGER discord_sync_on_host AFTER INSERT ON masterclasses
BEGIN
    INSERT INTO discord_sync (masterclass_id, guild_id, due_at, version)
    VALUES (NEW.id, NEW.guild_id, 0, 1);
END;
CREATE TRIGGER discord_sync_on_change
AFTER UPDATE OF title, description, location, capacity, status ON masterclasses
BEGIN
    UPDATE discord_sync SET due_at = 0, version = version + 1, attempts = 0, failed_at = NULL
    WHERE masterclass_id = NEW.id
      AND NOT (due_at IS 0 AND claimed_until IS NULL AND failed_at IS NULL);
END;
CREATE TRIGGER discord_sync_on_sign_up AFTER INSERT ON participants
BEGIN
    UPDATE discord_sync SET due_at = 0, version = version + 1, attempts = 0, failed_at = NULL
    WHERE masterclass_id = NEW.masterclass_id
      AND NOT (due_at IS 0 AND claimed_until IS NULL AND failed_at IS NULL);
END;
CREATE TRIGGER discord_sync_on_promotion AFTER UPDATE OF status ON participants
BEGIN
    UPDATE discord_sync SET due_at = 0, version = version + 1, attempts = 0, failed_at = NULL
    WHERE masterclass_id = NEW.masterclass_id
      AND NOT (due_at IS 0 AND claimed_until IS NULL AND failed_at IS NULL);
END;
CREATE TRIGGER discord_sync_on_departure AFTER DELETE ON participants
BEGIN
    UPDATE discord_sync SET due_at = 0, version = version + 1, attempts = 0, failed_at = NULL
    WHERE masterclass_id = OLD.masterclass_id
      AND NOT (due_at IS 0 AND claimed_until IS NULL AND failed_at IS NULL);
END;
