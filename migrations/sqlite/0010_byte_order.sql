-- SQLite compares text byte by byte already (BINARY collation): nothing to change. Kept in step with
-- migrations/postgres/0010_byte_order.sql, which declares the same order on PostgreSQL's columns.
SELECT 1;
