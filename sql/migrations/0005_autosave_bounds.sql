-- Idempotency as Stripe does it: each kept answer remembers the request it answered (its chapter is
-- already there; request_hash is sha256 of the canonical body, base_version and content). The same
-- op_id with another chapter or another body is then refused instead of replayed. Rows kept from
-- before this migration have no hash; they are compared by chapter alone until they expire (48 h).
alter table autosave_ops add column request_hash bytea;

-- History retention (housekeeping's trim task, sql/queries/chapter-versions.ts) needs no new index:
-- it walks chapters by their primary key and reads each one's versions by chapter_versions' primary
-- key (chapter_id, version).
