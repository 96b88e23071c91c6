-- Dashboard sign-in (hub/src/dashboard): staff accounts and their sessions. Kept in step with
-- migrations/postgres/0006_staff_accounts.sql.

-- One account per staff member. `body` is the account as JSON (display name, organisation, argon2id
-- password hash in PHC form, disabled flag, failed sign-ins); never a plain password.
CREATE TABLE staff_accounts (
    username    TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    body        TEXT NOT NULL
);

-- Signed-in browsers. Only a SHA-256 hash of the session token is stored, so a database copy does
-- not sign anyone in. Shared by all replicas, so any of them serves a signed-in browser.
CREATE TABLE staff_sessions (
    token_hash  TEXT PRIMARY KEY,
    username    TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);
CREATE INDEX staff_sessions_user ON staff_sessions(username);
CREATE INDEX staff_sessions_seen ON staff_sessions(last_seen);
