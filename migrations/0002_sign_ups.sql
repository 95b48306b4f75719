-- Sign-ups, kept lean for the join path: the table is its own primary-key index (no rowid);
-- every sign-up is recorded in the activity log by the trigger below, under the number the
-- sign-up gets (its `arrival`: activity ids only grow, so it orders the waitlist and is never
-- given to another sign-up); each masterclass carries its seat counts, kept by triggers, so a
-- join reads them without counting.

CREATE TABLE sign_ups (
    masterclass_id INTEGER NOT NULL REFERENCES masterclasses (id),
    user_id        INTEGER NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('attending', 'waitlisted')),
    arrival        INTEGER NOT NULL, -- the waitlist is served in this order
    is_guest       INTEGER NOT NULL DEFAULT 0,
    joined_at      INTEGER NOT NULL,
    PRIMARY KEY (masterclass_id, user_id)
) WITHOUT ROWID;
INSERT INTO sign_ups (masterclass_id, user_id, status, arrival, is_guest, joined_at)
SELECT masterclass_id, user_id, status, arrival, is_guest, joined_at FROM participants;
DROP TABLE participants;
ALTER TABLE sign_ups RENAME TO participants;
CREATE INDEX participants_by_status ON participants (masterclass_id, status, arrival);
CREATE INDEX participants_by_user ON participants (user_id);

ALTER TABLE masterclasses ADD COLUMN attending_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE masterclasses ADD COLUMN waitlisted_count INTEGER NOT NULL DEFAULT 0;
UPDATE masterclasses SET
    attending_count = (SELECT COUNT(*) FROM participants p
                       WHERE p.masterclass_id = masterclasses.id AND p.status = 'attending'),
    waitlisted_count = (SELECT COUNT(*) FROM participants p
                        WHERE p.masterclass_id = masterclasses.id AND p.status = 'waitlisted');

CREATE TRIGGER seat_counts_on_sign_up AFTER INSERT ON participants
BEGIN
    UPDATE masterclasses SET
        attending_count = attending_count + (NEW.status = 'attending'),
        waitlisted_count = waitlisted_count + (NEW.status = 'waitlisted')
    WHERE id = NEW.masterclass_id;
END;
CREATE TRIGGER seat_counts_on_departure AFTER DELETE ON participants
BEGIN
    UPDATE masterclasses SET
        attending_count = attending_count - (OLD.status = 'attending'),
        waitlisted_count = waitlisted_count - (OLD.status = 'waitlisted')
    WHERE id = OLD.masterclass_id;
END;
CREATE TRIGGER seat_counts_on_promotion AFTER UPDATE OF status ON participants
WHEN OLD.status <> NEW.status
BEGIN
    UPDATE masterclasses SET
        attending_count = attending_count + (NEW.status = 'attending') - (OLD.status = 'attending'),
        waitlisted_count = waitlisted_count + (NEW.status = 'waitlisted') - (OLD.status = 'waitlisted')
    WHERE id = NEW.masterclass_id;
END;

-- A sign-up is an event of the activity log, numbered by its arrival: the member joined, or the
-- host added them as a guest.
CREATE TRIGGER activity_on_sign_up AFTER INSERT ON participants
BEGIN
    INSERT INTO activity (id, guild_id, masterclass_id, actor_id, action, detail, at)
    SELECT NEW.arrival, m.guild_id, NEW.masterclass_id,
           CASE WHEN NEW.is_guest THEN m.host_id ELSE NEW.user_id END,
           CASE WHEN NEW.is_guest THEN 'guest_added' ELSE 'joined' END,
           json_object('member', NEW.user_id, 'status', NEW.status), NEW.joined_at
    FROM masterclasses m WHERE m.id = NEW.masterclass_id;
END;
