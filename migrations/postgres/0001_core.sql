-- Core schema of the Wohnungserhalt Hub (PostgreSQL). Kept in step with migrations/sqlite/0001_core.sql:
-- the same tables and columns (tests/tests/schema_drift.rs checks it). Each entity keeps its full domain
-- record as JSON text in `body`, plus the columns that queries filter and sort by. Ids, bodies and calendar
-- days are TEXT, instants are BIGINT milliseconds, positions are identity columns.

CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    active      BOOLEAN NOT NULL,
    body        TEXT NOT NULL
);

CREATE TABLE cases (
    id          TEXT PRIMARY KEY,
    owner_id    TEXT NOT NULL REFERENCES organisations(id),
    status      TEXT NOT NULL,
    opened_at   BIGINT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX cases_status ON cases(status, opened_at);

-- `seq` stands in for SQLite's implicit rowid (consents are listed in insertion order); it is the one
-- column PostgreSQL has that the SQLite table does not show (allowed by name in schema_drift.rs).
CREATE TABLE consents (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases(id),
    status      TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    body        TEXT NOT NULL,
    seq         BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
);
CREATE INDEX consents_case ON consents(case_id, seq);
CREATE INDEX consents_expiry ON consents(status, valid_until);

CREATE TABLE referrals (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    case_id      TEXT NOT NULL REFERENCES cases(id),
    sender_id    TEXT NOT NULL REFERENCES organisations(id),
    recipient_id TEXT NOT NULL REFERENCES organisations(id),
    state        TEXT NOT NULL,
    reply_by     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX referrals_case ON referrals(case_id);
CREATE INDEX referrals_recipient ON referrals(recipient_id, seq);
CREATE INDEX referrals_sender ON referrals(sender_id, seq);

CREATE TABLE notes (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    referral_id  TEXT NOT NULL REFERENCES referrals(id),
    created_at   BIGINT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX notes_referral ON notes(referral_id, seq);

-- One row per audience organisation. Cursors are drawn from the sequence only while the writer holds
-- the hub's advisory transaction lock (see hub/src/store/postgres.rs), so they become visible in commit
-- order and `cursor > $n` never skips a row that commits late with a lower cursor.
CREATE TABLE events (
    cursor       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    audience_id  TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX events_audience ON events(audience_id, cursor);

-- Accountability (DOMAIN.md rule 10): who read or wrote which personal data, on which basis.
CREATE TABLE audit_log (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  BIGINT NOT NULL,
    actor_id     TEXT NOT NULL,
    staff_member TEXT,
    action       TEXT NOT NULL,
    case_id      TEXT,
    referral_id  TEXT,
    legal_basis  TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX audit_case ON audit_log(case_id, seq);

CREATE TABLE idempotency (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
