-- Documents whose notifications a user does not want: no inbox row and no push about them.
-- Kept when the user leaves the document, so an owner cannot undo a mute by removing and re-adding them.
create table document_notification_mutes (
  document_id uuid not null references documents (id) on delete cascade,
  user_id     text not null,
  created_at  timestamptz not null default now(),
  primary key (document_id, user_id)
);

-- The notification rate limit counts one recipient's recent notifications about one document.
create index notifications_user_document_idx on notifications (user_id, document_id, created_at desc) where document_id is not null;
