-- The tamper-evident audit trail (hub/src/audit). Kept in step with migrations/sqlite/0004_audit_chain.sql.
-- Every record written from now on stores `prev_hash` (the hash of the record before it, or 64 zeros
-- for the first chained record) and `hash` (SHA-256 over prev_hash and the record's fields, hex).
-- Records written before this migration keep NULL in both: `hub audit verify` reports them as
-- "records before the chain began (unchained legacy records)"; they may only form a prefix of the log.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;

-- Seals: the hub's Ed25519 signature (hex) over the chain head (seq, hash, sealed_at), made by the
-- scheduled work when records were added since the last seal. The key stays in the data directory.
CREATE TABLE audit_seals (
    seq         BIGINT PRIMARY KEY,
    hash        TEXT NOT NULL,
    sealed_at   BIGINT NOT NULL,
    signature   TEXT NOT NULL
);
