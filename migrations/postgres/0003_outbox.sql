-- The email outbox: one row per mail to one organisation, written in the same transaction as the
-- change it announces. Kept in step with migrations/sqlite/0003_outbox.sql.
-- `status` is PENDING, SENT or DEAD (domain::mail::JobStatus). Dispatchers on several replicas claim
-- due PENDING rows with FOR UPDATE SKIP LOCKED by setting a lease (owner and expiry); a crashed
-- replica's lease runs out and another claims the row.
CREATE TABLE outbox (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    case_id         TEXT NOT NULL,
    referral_id     TEXT,
    status          TEXT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    body            TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_org ON outbox(org_id, status);
CREATE INDEX outbox_referral ON outbox(referral_id);
