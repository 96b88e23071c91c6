-- Documents of a case (the signed consent slip, the court's letter): kept in step with
-- migrations/sqlite/0007_documents.sql. `meta` (name, type, size, who) and `content` are sealed with
-- the case's data key like every body of personal data, so erasing the case's key shreds them too.
CREATE TABLE documents (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases(id),
    uploaded_at BIGINT NOT NULL,
    meta        TEXT NOT NULL,
    content     TEXT NOT NULL
);
CREATE INDEX documents_case ON documents(case_id, uploaded_at);
