-- Each document's outcome counts, kept current by triggers in the statement that changes them, so
-- the workers' `document.progress` after every batch reads three numbers instead of aggregating the
-- whole document (which grew with its size). Statement-level triggers with transition tables: one
-- counter update per document per statement, whatever the batch size. An INSERT … ON CONFLICT DO
-- UPDATE fires both the insert trigger (rows inserted) and the update trigger (rows updated).
create table document_progress (
  document_id uuid primary key references documents (id) on delete cascade,
  total       integer not null default 0,
  completed   integer not null default 0,
  failed      integer not null default 0
);

create function count_inserted_chapters() returns trigger language plpgsql as $$
begin
  insert into document_progress as p (document_id, total)
  select document_id, count(*) from new_chapters group by document_id
  on conflict (document_id) do update set total = p.total + excluded.total;
  return null;
end $$;

create function count_deleted_chapters() returns trigger language plpgsql as $$
begin
  update document_progress p set total = p.total - d.n
  from (select document_id, count(*)::int as n from old_chapters group by document_id) d
  where p.document_id = d.document_id;
  return null;
end $$;

-- Outcome rows entering a final status count +1, rows leaving one -1 (a retry's result replacing a
-- failure, a deleted chapter's result); statements that change no final status touch no counter.
create function count_inserted_outcomes() returns trigger language plpgsql as $$
begin
  update document_progress p set completed = p.completed + d.completed, failed = p.failed + d.failed
  from (select document_id,
               count(*) filter (where status = 'completed')::int as completed,
               count(*) filter (where status = 'failed')::int as failed
        from new_results group by document_id) d
  where p.document_id = d.document_id and (d.completed <> 0 or d.failed <> 0);
  return null;
end $$;

create function count_updated_outcomes() returns trigger language plpgsql as $$
begin
  update document_progress p set completed = p.completed + d.completed, failed = p.failed + d.failed
  from (select document_id, sum(completed)::int as completed, sum(failed)::int as failed
        from (select document_id, (status = 'completed')::int as completed, (status = 'failed')::int as failed from new_results
              union all
              select document_id, -(status = 'completed')::int, -(status = 'failed')::int from old_results) changes
        group by document_id) d
  where p.document_id = d.document_id and (d.completed <> 0 or d.failed <> 0);
  return null;
end $$;

create function count_deleted_outcomes() returns trigger language plpgsql as $$
begin
  update document_progress p set completed = p.completed - d.completed, failed = p.failed - d.failed
  from (select document_id,
               count(*) filter (where status = 'completed')::int as completed,
               count(*) filter (where status = 'failed')::int as failed
        from old_results group by document_id) d
  where p.document_id = d.document_id and (d.completed <> 0 or d.failed <> 0);
  return null;
end $$;

-- Triggers first: creating them locks both tables against writes until this migration commits, so
-- nothing written between the backfill and the triggers goes uncounted.
create trigger chapters_count_inserted after insert on chapters
  referencing new table as new_chapters for each statement execute function count_inserted_chapters();
create trigger chapters_count_deleted after delete on chapters
  referencing old table as old_chapters for each statement execute function count_deleted_chapters();
create trigger chapter_results_count_inserted after insert on chapter_results
  referencing new table as new_results for each statement execute function count_inserted_outcomes();
create trigger chapter_results_count_updated after update on chapter_results
  referencing old table as old_results new table as new_results for each statement execute function count_updated_outcomes();
create trigger chapter_results_count_deleted after delete on chapter_results
  referencing old table as old_results for each statement execute function count_deleted_outcomes();

insert into document_progress (document_id, total, completed, failed)
select c.document_id, count(*),
       count(*) filter (where r.status = 'completed'),
       count(*) filter (where r.status = 'failed')
from chapters c left join chapter_results r on r.chapter_id = c.id
group by c.document_id;
