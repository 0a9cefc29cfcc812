-- A document's jobs newest first, paged by (created_at, id) for GET /api/documents/:id/jobs: the id breaks
-- ties between jobs created in the same microsecond. It also serves what jobs_document_idx did (a document's
-- jobs, the cascade when a document is deleted), so that one goes.
create index jobs_document_page_idx on jobs (document_id, created_at desc, id desc);
drop index jobs_document_idx;
