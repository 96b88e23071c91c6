-- Notices: early arrears notices (housing companies) and court notices (MiZi). Kept in step with
-- migrations/sqlite/0002_notices.sql.
-- `notice_key` is unique: one notice per reporter and tenancy, one per court file number.
CREATE TABLE notices (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    notice_key   TEXT NOT NULL UNIQUE,
    reporter_id  TEXT,
    case_id      TEXT,
    received_at  BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX notices_open ON notices(case_id, received_at);
CREATE INDEX notices_reporter ON notices(reporter_id, notice_key);
