import { describe, expect, it } from 'vitest';
import { JOB_QUEUE, PRIORITY, type JobName } from '../../jobs/contracts.ts';
import { jobRowId, priorityName } from '../../jobs/job-records.ts';
import { jobOptions } from '../../jobs/queues.ts';
import { ConfigError, loadConfig } from '../../server/config.ts';

describe('job ids, priorities and retries', () => {
  it('uses a UUID BullMQ id as is and derives a stable, distinct UUID from any other id', () => {
    const id = '3f1c5b7e-8a90-4c1d-9e2f-0a1b2c3d4e5f';
    expect(jobRowId('documents', id)).toBe(id);
    const derived = jobRowId('chapters', 'chapter-x-v1');
    expect(derived).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(jobRowId('chapters', 'chapter-x-v1')).toBe(derived);
    expect(jobRowId('documents', 'chapter-x-v1')).not.toBe(derived);
  });

  it('gives each job type its named priority and exponential backoff', () => {
    const policy = { chapterAttempts: 3, backoffMs: 1000 };
    const priority = (name: JobName) => priorityName(jobOptions(name, policy).priority);
    expect(priority('chapter.refresh')).toBe('urgent');
    expect(priority('document.refresh')).toBe('high');
    expect(priority('chapter.process')).toBe('normal');
    expect(priority('document.ingest')).toBe('normal');
    expect(priority('artifact.refresh')).toBe('low');
    expect(priority('jobs.housekeeping')).toBe('low');
    for (const name of Object.keys(JOB_QUEUE) as JobName[]) {
      expect(jobOptions(name, policy).backoff).toEqual({ type: 'exponential', delay: 1000 });
      expect(Object.values(PRIORITY)).toContain(jobOptions(name, policy).priority);
    }
  });

  it('takes attempts per job type from JOB_ATTEMPTS over the defaults', () => {
    const config = loadConfig({ JOB_ATTEMPTS: 'package.build=7, document.refresh=2', CHAPTER_ATTEMPTS: '4' });
    const policy = { chapterAttempts: config.worker.chapterAttempts, backoffMs: 10, attempts: config.jobs.attempts };
    expect(jobOptions('package.build', policy).attempts).toBe(7);
    expect(jobOptions('document.refresh', policy).attempts).toBe(2);
    expect(jobOptions('chapter.process', policy).attempts).toBe(4);
    expect(jobOptions('document.ingest', policy).attempts).toBe(5);
    expect(() => loadConfig({ JOB_ATTEMPTS: 'nope=3' })).toThrow(ConfigError);
    expect(() => loadConfig({ JOB_ATTEMPTS: 'package.build=0' })).toThrow(/JOB_ATTEMPTS/);
  });

  it('defaults retention to 30 days, stuck to 600 s and the refresh limit to 5 per 300 s', () => {
    const config = loadConfig({});
    expect(config.jobs).toMatchObject({ retentionDays: 30, stuckJobSeconds: 600, tracking: true });
    expect(config.refresh).toEqual({ limit: 5, windowSeconds: 300 });
    expect(config.adminUsers).toEqual([]);
  });
});
