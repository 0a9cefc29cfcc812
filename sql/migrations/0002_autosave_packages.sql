-- Autosave, packages, artifact staleness and the transactional outbox (issue 4).

-- Every accepted autosave keeps its text, so any version can be inspected or restored.
create table chapter_versions (
  chapter_id uuid not null references chapters (id) on delete cascade,
  version    integer not null,
  content    text not null,
  word_count integer not null,
  saved_by   text not null references users (id),
  op_id      text not null,
  created_at timestamptz not null default now(),
  primary key (chapter_id, version)
);

-- The first answer to each autosave operation: the same op_id again gets it back,
-- whatever happened since. Rows are pruned after AUTOSAVE_OP_RETENTION (at least 24 h).
create table autosave_ops (
  user_id    text not null,
  op_id      text not null,
  chapter_id uuid not null,
  status     smallint not null,
  body       jsonb not null,
  created_at timestamptz not null default now(),
  primary key (user_id, op_id)
);
create index autosave_ops_created_idx on autosave_ops (created_at);

-- The summary's own embedding, compared with the next summary's to decide whether the
-- chapter needs re-embedding; embedding_version is the chapter version `embedding` came
-- from (null: the same as chapter_version), since a refresh may keep an older embedding.
alter table chapter_results
  add column summary_embedding real[],
  add column embedding_version integer;

-- The latest package of a document: essential (stored data only) until the full build replaces it.
create table packages (
  document_id       uuid primary key references documents (id) on delete cascade,
  stage             text not null check (stage in ('essential', 'full')),
  content           jsonb not null,
  -- chapter id → the chapter version the package was built from
  source_versions   jsonb not null,
  -- the full build asked for last; while full_pending, a new request reuses it instead of starting another
  full_job_id       uuid not null,
  full_pending      boolean not null,
  full_requested_at timestamptz not null default now(),
  updated_at        timestamptz not null default now()
);

-- What the essential package needs from a chapter's text (its opening paragraph, its
-- capitalised names with counts), computed once per chapter version, so a package request
-- over a long manuscript reads no chapter text.
create table chapter_digests (
  chapter_id uuid primary key references chapters (id) on delete cascade,
  version    integer not null,
  opening    text not null,
  -- [{name, total, mid, lower}], see jobs/text/characters.ts nameStats
  names      jsonb not null
);

-- AI artifacts that span chapters: the outline (name '') and one sheet per character.
create table artifacts (
  document_id     uuid not null references documents (id) on delete cascade,
  kind            text not null check (kind in ('outline', 'character')),
  name            text not null default '',
  content         jsonb,
  -- chapter id → the chapter version the content was built from
  source_versions jsonb not null default '{}',
  -- set when the dirty count crosses the threshold and the refresh is queued; cleared by the refresh
  refresh_pending boolean not null default false,
  refreshed_at    timestamptz,
  primary key (document_id, kind, name)
);

-- Chapters saved since an artifact was last built: one row per (artifact, chapter), so
-- concurrent saves of different chapters never wait on one hot counter row.
create table artifact_dirty (
  document_id uuid not null references documents (id) on delete cascade,
  kind        text not null,
  name        text not null,
  chapter_id  uuid not null references chapters (id) on delete cascade,
  version     integer not null,
  primary key (document_id, kind, name, chapter_id)
);

-- The transactional outbox: jobs to enqueue and events to publish, written in the same
-- transaction as the change they follow, and moved to Redis by the relay in id order.
create table outbox (
  id          bigint generated always as identity primary key,
  document_id uuid not null references documents (id) on delete cascade,
  kind        text not null check (kind in ('job', 'event')),
  name        text not null,
  payload     jsonb not null,
  options     jsonb not null default '{}',
  attempts    integer not null default 0,
  last_error  text,
  created_at  timestamptz not null default now()
);
create index outbox_document_idx on outbox (document_id, id);
