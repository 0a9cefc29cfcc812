-- Users appear on first sight of their token's `sub`.
create table users (
  id         text primary key check (char_length(id) between 1 and 128),
  name       text,
  created_at timestamptz not null default now()
);

create table documents (
  id         uuid primary key,
  owner_id   text not null references users (id),
  title      text not null,
  kind       text not null check (kind in ('book', 'screenplay')),
  status     text not null default 'processing' check (status in ('processing', 'completed', 'partial')),
  word_count integer not null default 0,
  job_id     uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index documents_owner_idx on documents (owner_id, created_at desc);

create table document_members (
  document_id uuid not null references documents (id) on delete cascade,
  user_id     text not null references users (id),
  role        text not null check (role in ('editor', 'viewer')),
  created_at  timestamptz not null default now(),
  primary key (document_id, user_id)
);
create index document_members_user_idx on document_members (user_id);

create table chapters (
  id          uuid primary key,
  document_id uuid not null references documents (id) on delete cascade,
  index       integer not null,
  title       text not null,
  -- lz4 compresses chapter text about twice as fast as the default pglz: the upload path writes a whole manuscript at once.
  content     text compression lz4 not null,
  word_count  integer not null,
  version     integer not null default 1,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  unique (document_id, index)
);

-- What the workers computed for a chapter, written by the batched writer.
-- chapter_version records the text a result came from; an older one never overwrites a newer one.
create table chapter_results (
  chapter_id      uuid primary key references chapters (id) on delete cascade,
  document_id     uuid not null references documents (id) on delete cascade,
  status          text not null check (status in ('queued', 'processing', 'completed', 'failed')),
  progress        smallint not null default 0 check (progress between 0 and 100),
  summary         text,
  -- float32 little-endian; binary is ~7x faster to write in batches than a real[] parsed from text.
  embedding       bytea,
  error           text,
  chapter_version integer not null,
  attempts        integer not null default 0,
  updated_at      timestamptz not null default now()
);
create index chapter_results_document_idx on chapter_results (document_id, status);
