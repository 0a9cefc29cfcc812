-- The autosave statement (sql/queries/autosave.ts) as a function. Behind a transaction-mode pooler
-- Herald sends no prepared statements, so the statement, a chain of a dozen CTEs, was parsed and
-- planned again on every save: about 2 ms, the most of what the pooler added to a save. PL/pgSQL
-- keeps the plan of each statement it runs for the life of the server connection, which a pooler
-- keeps open across its clients' transactions; only the short call is parsed each time. The direct
-- connection calls the same function, so both paths run one definition.
--
-- One save: compare-and-swap on `version` (and the user's right to edit, with the access levels
-- that may edit passed in from domain/access.ts), history row, kept answer, dirty marks, stale flags
-- for artifacts that reach their threshold with no refresh queued, outbox rows (the fixed ones first,
-- then per stale artifact its event and its refresh job), the document's word count, and a NOTIFY
-- for the relays unless `p_fast_path` and no earlier row of the document is waiting. No row comes
-- back when nothing was written (the version moved on, or the user may not edit). Lock order, forced
-- by the data dependencies: chapter row, dirty marks, artifact rows (sorted), document row last.
--
-- p_outbox: [{kind, name, payload, options}], in order. p_marks: [{kind, name, threshold,
-- stale_name, stale_event, job_name, job_payload, job_options}]; stale_event lacks dirty_count,
-- which the statement adds. To change the save, add a migration that replaces this function.
create function apply_autosave(
  p_chapter_id uuid, p_document_id uuid, p_base_version integer, p_content text, p_word_count integer,
  p_user_id text, p_op_id text, p_request_hash text, p_saved_at timestamptz, p_answer jsonb,
  p_edit_access text[], p_outbox jsonb, p_marks jsonb, p_fast_path boolean, p_channel text
) returns table (new_version integer, stale_count integer, outbox_rows json, outbox_clear boolean)
language plpgsql as $$
begin
  with saved as (
    update chapters c
    set content = p_content, word_count = p_word_count, version = c.version + 1, updated_at = p_saved_at
    from chapters old
    where c.id = p_chapter_id and c.version = p_base_version and old.id = c.id
      and exists (select 1 from documents d
                  left join document_members m on m.document_id = d.id and m.user_id = p_user_id
                  where d.id = c.document_id
                    and (case when d.owner_id = p_user_id then 'owner' else m.role end) = any(p_edit_access))
    returning c.id, c.version, old.word_count as previous_word_count
  ), history as (
    insert into chapter_versions (chapter_id, version, content, word_count, saved_by, op_id, created_at)
    select id, version, p_content, p_word_count, p_user_id, p_op_id, p_saved_at from saved
  ), kept as (
    insert into autosave_ops (user_id, op_id, chapter_id, status, body, request_hash)
    select p_user_id, p_op_id, id, 200, p_answer, decode(p_request_hash, 'hex') from saved
  ), candidates as (
    select * from jsonb_to_recordset(p_marks)
      as t(kind text, name text, threshold integer, stale_name text, stale_event jsonb, job_name text, job_payload jsonb, job_options jsonb)
  ), marked as (
    insert into artifact_dirty as d (document_id, kind, name, chapter_id, version)
    select p_document_id, c.kind, c.name, saved.id, saved.version from saved, candidates c
    on conflict (document_id, kind, name, chapter_id) do update set version = greatest(d.version, excluded.version)
    returning kind, name
  ), counts as (
    -- The snapshot cannot see this statement's own mark, hence + 1.
    select c.*, (select count(*) from artifact_dirty d
                  where d.document_id = p_document_id and d.kind = c.kind and d.name = c.name
                    and d.chapter_id <> p_chapter_id)::int + 1 as dirty_count
    from marked join candidates c using (kind, name)
  ), flagged as (
    insert into artifacts as a (document_id, kind, name, refresh_pending)
    select p_document_id, kind, name, true from counts where dirty_count >= threshold
    order by kind, name
    on conflict (document_id, kind, name) do update set refresh_pending = true where not a.refresh_pending
    returning kind, name
  ), rows as (
    select u.ord, u.r->>'kind' as kind, u.r->>'name' as name, u.r->'payload' as payload, u.r->'options' as options
    from saved, jsonb_array_elements(p_outbox) with ordinality as u(r, ord)
    union all
    -- Per stale artifact, its event then its refresh job, after the fixed rows.
    select 1000 + 2 * row_number() over (order by c.kind, c.name) + side.n, side.kind, side.name, side.payload, side.options
    from counts c join flagged f using (kind, name)
    cross join lateral (values
      (0, 'event', c.stale_name, c.stale_event || jsonb_build_object('dirty_count', c.dirty_count), '{}'::jsonb),
      (1, 'job', c.job_name, c.job_payload, c.job_options)
    ) as side(n, kind, name, payload, options)
  ), queued as (
    insert into outbox (document_id, kind, name, payload, options)
    select p_document_id, kind, name, payload, options from rows order by ord
    returning id, document_id, kind, name, payload, options, attempts
  ), words as (
    update documents d set word_count = greatest(d.word_count + p_word_count - saved.previous_word_count, 0), updated_at = p_saved_at
    from saved
    where d.id = p_document_id and (select count(*) from queued) >= 0
    returning d.id
  ), waiting as (
    -- Rows committed before this statement; its own are not in its snapshot.
    select not exists (select 1 from outbox o where o.document_id = p_document_id) as clear
  )
  select saved.version, (select count(*) from flagged)::int,
         (select coalesce(json_agg(json_build_object(
            'id', w.id::text, 'document_id', w.document_id, 'kind', w.kind, 'name', w.name,
            'payload', w.payload, 'options', w.options, 'attempts', w.attempts) order by w.id), '[]') from queued w),
         waiting.clear
  into new_version, stale_count, outbox_rows, outbox_clear
  from saved, waiting, (select count(*) from words) as touched;
  if not found then
    return;
  end if;
  -- Delivered only if the transaction commits.
  if not (outbox_clear and p_fast_path) then
    perform pg_notify(p_channel, '');
  end if;
  return next;
end $$;
