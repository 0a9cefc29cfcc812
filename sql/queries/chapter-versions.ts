import type { Sql } from '../client.ts';

/** What is kept of each chapter's history (CHAPTER_HISTORY_KEEP, CHAPTER_HISTORY_HOURLY_DAYS). */
export interface ChapterHistoryRetention {
  /** The latest versions of each chapter, always kept. */
  keep: number;
  /** Beyond those, the last version saved in each hour (UTC) is kept this many days. */
  hourlyDays: number;
}

/** Chapters looked at per statement, and versions deleted per statement at most: each statement is short and locks only what it deletes. */
const BATCH = { chapters: 200, versions: 5000 };

/**
 * Deletes the versions retention does not keep: beyond each chapter's
 * latest `keep`, every version but the last of its hour, and those last
 * ones too once older than `hourlyDays`. Walks the chapters with more than
 * `keep` versions in id order, one bounded statement (its own transaction)
 * per batch, so saves go on meanwhile; a save racing a batch only adds a
 * version the batch did not see, which makes it keep more, never less.
 * Returns how many versions were deleted.
 */
export async function pruneChapterHistory(sql: Sql, retention: ChapterHistoryRetention, batch = BATCH): Promise<number> {
  let after = '00000000-0000-0000-0000-000000000000';
  let deleted = 0;
  for (;;) {
    const [done] = await sql<{ last: string | null; deleted: number }[]>`
      with chapters_batch as (
        -- An index-only walk of the primary key (chapter_id, version).
        select chapter_id from chapter_versions
        where chapter_id > ${after}
        group by chapter_id having count(*) > ${retention.keep}
        order by chapter_id
        limit ${batch.chapters}
      ), ranked as (
        select v.chapter_id, v.version, v.created_at,
               row_number() over (partition by v.chapter_id order by v.version desc) as latest_rank,
               row_number() over (partition by v.chapter_id, date_trunc('hour', v.created_at, 'UTC') order by v.version desc) as hour_rank
        from chapter_versions v join chapters_batch using (chapter_id)
      ), doomed as (
        select chapter_id, version from ranked
        where latest_rank > ${retention.keep}
          and (hour_rank > 1 or created_at < now() - make_interval(days => ${retention.hourlyDays}))
        order by chapter_id, version
        limit ${batch.versions}
      ), gone as (
        delete from chapter_versions v using doomed d
        where v.chapter_id = d.chapter_id and v.version = d.version
        returning 1
      )
      select (select max(chapter_id::text) from chapters_batch) as last, (select count(*) from gone)::int as deleted`;
    deleted += done!.deleted;
    if (done!.last === null) return deleted;
    // A full batch may have left versions of its chapters behind: look at the same chapters again.
    if (done!.deleted < batch.versions) after = done!.last;
  }
}
