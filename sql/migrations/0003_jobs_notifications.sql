-- Every BullMQ job Herald creates, followed through its life. `id` is the BullMQ id when that is
-- a UUID, otherwise a name-based UUID of (queue, BullMQ id), so REST ids are always UUIDs.
create table jobs (
  id           uuid primary key,
  queue        text not null,
  bull_id      text not null,
  type         text not null,
  status       text not null check (status in ('queued', 'processing', 'completed', 'failed', 'cancelled')),
  priority     text not null,
  progress     integer not null default 0,
  attempts     integer not null default 0,
  max_attempts integer not null default 1,
  document_id  uuid references documents (id) on delete cascade,
  user_id      text,
  request_id   text,
  -- BullMQ deduplication id: a newer job with the same one replaces a queued older one (debounced refreshes).
  dedup_id     text,
  result       jsonb,
  error        text,
  created_at   timestamptz not null,
  started_at   timestamptz,
  completed_at timestamptz,
  -- When the state this row holds happened: an older report never replaces a newer one.
  changed_at   timestamptz not null
);
create index jobs_document_idx on jobs (document_id, created_at desc);
create index jobs_finished_idx on jobs (completed_at) where status in ('completed', 'failed', 'cancelled');
create index jobs_processing_idx on jobs (started_at) where status = 'processing';
create index jobs_dedup_idx on jobs (dedup_id) where status = 'queued' and dedup_id is not null;

-- Manual refreshes: who asked, when, which job, how it ended. At most one pending per document.
create table refreshes (
  job_id       uuid primary key,
  document_id  uuid not null references documents (id) on delete cascade,
  user_id      text not null,
  status       text not null default 'pending' check (status in ('pending', 'completed', 'failed', 'cancelled')),
  created_at   timestamptz not null default now(),
  completed_at timestamptz
);
create unique index refreshes_one_pending_idx on refreshes (document_id) where status = 'pending';
create index refreshes_document_idx on refreshes (document_id, created_at desc);

-- A user's inbox. `seq` orders it (ids are UUIDs, as everywhere in the API).
create table notifications (
  id          uuid primary key,
  seq         bigint generated always as identity unique,
  user_id     text not null,
  kind        text not null,
  title       text not null,
  body        text not null,
  document_id uuid,
  read_at     timestamptz,
  created_at  timestamptz not null default now()
);
create index notifications_user_idx on notifications (user_id, seq desc);

-- Which notification kinds a user wants pushed (all are stored). No row: every kind.
create table notification_preferences (
  user_id    text primary key,
  kinds      text[] not null,
  updated_at timestamptz not null default now()
);
