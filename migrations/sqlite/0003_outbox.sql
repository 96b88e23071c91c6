-- The email outbox: one row per mail to one organisation, written in the same transaction as the
-- change it announces. Kept in step with migrations/postgres/0003_outbox.sql.
-- `status` is PENDING, SENT or DEAD (domain::mail::JobStatus). A dispatcher claims due PENDING rows by
-- setting a lease (owner and expiry); a crashed dispatcher's lease runs out and another claims the row.
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    case_id         TEXT NOT NULL,
    referral_id     TEXT,
    status          TEXT NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    body            TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_org ON outbox(org_id, status);
CREATE INDEX outbox_referral ON outbox(referral_id);
