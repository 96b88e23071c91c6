-- Requests to recipients to erase, restrict or rectify data they received (Art. 19 GDPR), and their
-- confirmations: kept in step with migrations/postgres/0008_data_requests.sql. `body` holds ids,
-- categories and dates only, no personal data, so it is not sealed and outlives the erasure of its
-- case as the Fachstelle's evidence. `confirmed_at` is NULL while the request is open.
CREATE TABLE data_requests (
    id           TEXT PRIMARY KEY,
    owner_id     TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    case_id      TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    confirmed_at INTEGER,
    body         TEXT NOT NULL
);
CREATE INDEX data_requests_recipient ON data_requests(recipient_id, confirmed_at);
CREATE INDEX data_requests_owner ON data_requests(owner_id, confirmed_at);
CREATE INDEX data_requests_case ON data_requests(case_id);
