import type { Sql } from '../client.ts';

/** What is kept of each chapter's history (CHAPTER_HISTORY_KEEP, CHAPTER_HISTORY_HOURLY_DAYS). */
export interface ChapterHistoryRetention {
  /** The latest versions of each chapter, always kept. */
  keep: number;
  /** Beyond those, the last version saved in each hour (UTC) is kept this many days. */
  hourlyDays: number;
}

/** Chapters looked at per statement, and versions deleted per statement at most: each statement is short and locks only what it deletes. */
const BATCH = { chapters: 1000, versions: 5000 };

/**
 * Deletes the versions retention does not keep: beyond each chapter's
 * latest `keep`, every version but the last of its hour (UTC), and those
 * last ones too once older than `hourlyDays`. Walks the chapters in id order
 * (the chapters' primary key; a chapter with no more than `keep` versions
 * costs one probe of at most `keep + 1` entries of chapter_versions' primary
 * key), one bounded statement, its own transaction, per batch, so saves go
 * on meanwhile; a save racing a batch only adds a version the batch did not
 * see, which makes it keep more, never less. Returns how many versions went.
 */
export async function pruneChapterHistory(sql: Sql, retention: ChapterHistoryRetention, batch = BATCH): Promise<number> {
  let after = '00000000-0000-0000-0000-000000000000';
  let deleted = 0;
  for (;;) {
    const [done] = await sql.begin(async (tx) => {
      // The planner's estimates for this statement run high enough to switch on JIT, whose compile costs more than the work.
      await tx`set local jit = off`;
      return tx<{ last: string | null; deleted: number }[]>`
      with walked as (
        select id from chapters where id > ${after} order by id limit ${batch.chapters}
      ), crowded as (
        -- Chapters with more than \`keep\` versions: only they can lose any.
        select id as chapter_id from walked w
        where exists (select 1 from chapter_versions v where v.chapter_id = w.id order by v.version desc offset ${retention.keep} limit 1)
      ), ranked as (
        -- Lateral, so each chapter's versions come from the primary key in order, never from a scan of the table.
        select r.ctid, r.version, r.created_at, r.latest_rank, r.hour_rank
        from crowded c cross join lateral (
          select v.ctid, v.version, v.created_at,
                 row_number() over (order by v.version desc) as latest_rank,
                 row_number() over (partition by date_trunc('hour', v.created_at, 'UTC') order by v.version desc) as hour_rank
          from chapter_versions v where v.chapter_id = c.chapter_id
        ) r
      ), doomed as (
        select ctid from ranked
        where latest_rank > ${retention.keep}
          and (hour_rank > 1 or created_at < now() - make_interval(days => ${retention.hourlyDays}))
        limit ${batch.versions}
      ), gone as (
        -- By ctid (rows of chapter_versions are never updated): a TID scan, where a join on the key would scan the table.
        delete from chapter_versions where ctid = any(array(select ctid from doomed))
        returning 1
      )
      select (select max(id::text) from walked) as last, (select count(*) from gone)::int as deleted`;
    });
    deleted += done!.deleted;
    if (done!.last === null) return deleted;
    // A full batch may have left versions of its chapters behind: look at the same chapters again.
    if (done!.deleted < batch.versions) after = done!.last;
  }
}
