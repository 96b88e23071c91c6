-- Core schema of the Wohnungserhalt Hub (SQLite).
-- Each entity keeps its full domain record as JSON in `body`, plus the columns that queries filter
-- and sort by. States are stored as the text of the domain's single mapping (e.g. 'IN_PROGRESS').

CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    active      INTEGER NOT NULL,
    body        TEXT NOT NULL
);

CREATE TABLE cases (
    id          TEXT PRIMARY KEY,
    owner_id    TEXT NOT NULL REFERENCES organisations(id),
    status      TEXT NOT NULL,
    opened_at   INTEGER NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX cases_status ON cases(status, opened_at);

CREATE TABLE consents (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases(id),
    status      TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX consents_case ON consents(case_id);
CREATE INDEX consents_expiry ON consents(status, valid_until);

CREATE TABLE referrals (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    case_id      TEXT NOT NULL REFERENCES cases(id),
    sender_id    TEXT NOT NULL REFERENCES organisations(id),
    recipient_id TEXT NOT NULL REFERENCES organisations(id),
    state        TEXT NOT NULL,
    reply_by     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX referrals_case ON referrals(case_id);
CREATE INDEX referrals_recipient ON referrals(recipient_id, seq);
CREATE INDEX referrals_sender ON referrals(sender_id, seq);

CREATE TABLE notes (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    referral_id  TEXT NOT NULL REFERENCES referrals(id),
    created_at   INTEGER NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX notes_referral ON notes(referral_id, seq);

-- One row per audience organisation. SQLite has a single writer, so cursors become visible in
-- commit order and `cursor > ?` never skips a row.
CREATE TABLE events (
    cursor       INTEGER PRIMARY KEY AUTOINCREMENT,
    audience_id  TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX events_audience ON events(audience_id, cursor);

-- Accountability (DOMAIN.md rule 10): who read or wrote which personal data, on which basis.
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at  INTEGER NOT NULL,
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
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
