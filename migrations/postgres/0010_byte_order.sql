-- Text the hub sorts by is compared byte by byte, as SQLite's default BINARY collation does, so both
-- backends list in the same order and the queries are the same text on both (kept in step with
-- migrations/sqlite/0010_byte_order.sql, which has nothing to change).
ALTER TABLE organisations ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE cases ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE certificates ALTER COLUMN serial TYPE TEXT COLLATE "C";
ALTER TABLE erasures ALTER COLUMN case_id TYPE TEXT COLLATE "C";
ALTER TABLE data_keys ALTER COLUMN master_id TYPE TEXT COLLATE "C";
ALTER TABLE data_keys ALTER COLUMN scope TYPE TEXT COLLATE "C";
