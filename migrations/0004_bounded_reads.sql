-- Reads that stay fast whatever the size of a server: each has an index that bounds its work.

-- Title search for autocomplete: trigrams of every title (kept in step by the triggers below).
CREATE VIRTUAL TABLE masterclass_titles USING fts5(
    title, content = 'masterclasses', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO masterclass_titles (masterclass_titles) VALUES ('rebuild');
CREATE TRIGGER masterclass_titles_on_insert AFTER INSERT ON masterclasses
BEGIN
    INSERT INTO masterclass_titles (rowid, title) VALUES (NEW.id, NEW.title);
END;
CREATE TRIGGER masterclass_titles_on_rename AFTER UPDATE OF title ON masterclasses
BEGIN
    INSERT INTO masterclass_titles (masterclass_titles, rowid, title) VALUES ('delete', OLD.id, OLD.title);
    INSERT INTO masterclass_titles (rowid, title) VALUES (NEW.id, NEW.title);
END;

-- Claims left by a stopped worker, released at start-up: only claimed rows are read. Every
-- final state clears the claim, so the index holds the rows in flight.
CREATE INDEX outbox_claimed ON outbox (claimed_until) WHERE claimed_until IS NOT NULL;

-- What /masterclass-admin deliveries lists: undelivered rows with an error.
CREATE INDEX outbox_troubled ON outbox (guild_id, id)
    WHERE delivered_at IS NULL AND voided_at IS NULL AND last_error IS NOT NULL;

-- The same for the Discord side.
CREATE INDEX discord_sync_claimed ON discord_sync (claimed_until) WHERE claimed_until IS NOT NULL;

-- Replaced by outbox_troubled; one index less to write for every notification.
DROP INDEX outbox_undelivered_by_guild;
