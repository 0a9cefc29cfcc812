-- Idempotency as Stripe does it: each kept answer remembers the request it answered (its chapter is
-- already there; request_hash is sha256 of the canonical body, base_version and content). The same
-- op_id with another chapter or another body is then refused instead of replayed. Rows kept from
-- before this migration have no hash; they are compared by chapter alone until they expire (48 h).
alter table autosave_ops add column request_hash bytea;

-- History retention (housekeeping's trim task) ranks each chapter's versions by hour of saving;
-- the primary key (chapter_id, version) already gives it every chapter's versions in order, so no
-- new index is needed for it.
