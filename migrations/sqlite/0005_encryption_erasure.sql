-- Encryption at rest and erasure (hub/src/vault, hub/src/store/sealed.rs). Kept in step with
-- migrations/postgres/0005_encryption_erasure.sql.

-- One data key per scope (a case, or a notice before it has a case), wrapped by a master key that
-- lives outside the database. Deleting a row here is what erases a case: its bodies no longer open.
CREATE TABLE data_keys (
    scope       TEXT PRIMARY KEY,
    master_id   TEXT NOT NULL,
    wrapped     TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX data_keys_master ON data_keys(master_id);

-- The day a closed case is due for erasure (closing day + retention of its outcome).
ALTER TABLE cases ADD COLUMN erase_on TEXT;
CREATE INDEX cases_erase_on ON cases(erase_on);

-- Events carry only ids and codes; the case column lets erasure remove a case's events.
ALTER TABLE events ADD COLUMN case_id TEXT;
UPDATE events SET case_id = json_extract(body, '$.case_id');
CREATE INDEX events_case ON events(case_id);

-- What remains of an erased case: anonymous statistics and what was kept on which legal basis.
-- No personal data.
CREATE TABLE erasures (
    case_id     TEXT PRIMARY KEY,
    owner_id    TEXT NOT NULL,
    erased_at   INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    body        TEXT NOT NULL
);

-- §569(3) Nr.2 S.2 BGB: a Schonfrist cure blocks another for two years, so the day it was used
-- outlives the case. `subject` is a keyed hash of the tenancy, never the reference itself.
CREATE TABLE schonfrist_cures (
    subject     TEXT NOT NULL,
    cured_on    TEXT NOT NULL,
    keep_until  TEXT NOT NULL,
    PRIMARY KEY (subject, cured_on)
);
CREATE INDEX schonfrist_cures_until ON schonfrist_cures(keep_until);
