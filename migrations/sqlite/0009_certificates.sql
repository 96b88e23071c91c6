-- Client certificates signed by the hub's CA (`hub pki sign`) and revocations (`hub pki revoke`):
-- kept in step with migrations/postgres/0009_certificates.sql. Every replica refuses a revoked serial
-- on the next call (it rereads the revocations at most a second old). A row with only `serial` and
-- `revoked_at` is a revocation of a certificate issued before the hub kept track.
CREATE TABLE certificates (
    serial     TEXT PRIMARY KEY,
    org_id     TEXT,
    issued_at  INTEGER,
    not_after  INTEGER,
    revoked_at INTEGER
);
CREATE INDEX certificates_revoked ON certificates(revoked_at);
