-- Notices: early arrears notices (housing companies) and court notices (MiZi).
-- `notice_key` is unique: one notice per reporter and tenancy, one per court file number.
CREATE TABLE notices (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    notice_key   TEXT NOT NULL UNIQUE,
    reporter_id  TEXT,
    case_id      TEXT,
    received_at  INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX notices_open ON notices(case_id, received_at);
CREATE INDEX notices_reporter ON notices(reporter_id, notice_key);
