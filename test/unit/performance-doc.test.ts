import { describe, expect, it } from 'vitest';
import { TABLE_END, TABLE_START, updatePerformanceDoc } from '../bench/performance-doc.ts';
import type { Figure } from '../bench/stats.ts';

const ORDER = ['upload', 'ingest', 'writer'];
const RUN = { startedAt: new Date('2026-12-01T11:30:00Z'), commit: '0123456789abcdef', mode: 'quick' as const, load: { average: 0.42, cpus: 2 } };
const LATER = { startedAt: new Date('2026-12-02T08:05:00Z'), commit: 'fedcba9876543210', mode: 'full' as const, load: { average: 3.04, cpus: 2 } };

const upload: Figure = {
  figure: '1. Upload latency',
  setup: '300 chapters | api role alone',
  latency: { n: 20, p50: 35.31, p95: 39.04, p99: 41.6, mean: 36, max: 44 },
  goal: { text: 'p95 < 50 ms', met: true },
};
const ingest: Figure = {
  figure: '2. Ingest throughput',
  setup: 'one worker process',
  value: { amount: 810.4, unit: 'chapters/s', note: '(best 918)' },
  goal: { text: '≥ 1,000 chapters/s', met: false },
  baseline: { label: 'in-process', amount: 880, unit: 'chapters/s', ratio: 0.921 },
};
const writer: Figure = { figure: '3. Batched writer', setup: '20,000 rows\n64 producers', value: { amount: 10385, unit: 'rows/s' } };

const doc = `# Performance\n\nProse before.\n\n${TABLE_START}\n${TABLE_END}\n\nProse after.\n`;
const rowsOf = (text: string) => text.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| group') && !l.startsWith('| ---'));

describe('the figures table of docs/performance.md', () => {
  it('writes one row per figure with its group, result, goal, baseline and run, and leaves the prose alone', () => {
    const out = updatePerformanceDoc(doc, [{ group: 'upload', figures: [upload] }, { group: 'ingest', figures: [ingest] }], RUN, ORDER);
    expect(out.startsWith('# Performance\n\nProse before.\n\n')).toBe(true);
    expect(out.endsWith(`${TABLE_END}\n\nProse after.\n`)).toBe(true);
    expect(rowsOf(out)).toEqual([
      '| upload | 1. Upload latency | 300 chapters \\| api role alone | p50 35.3 ms / p95 39.0 ms / p99 41.6 ms (n 20) | p95 < 50 ms: **met** |  | 2026-12-01 11:30 UTC, 0123456, quick, load 0.4 on 2 CPUs |',
      '| ingest | 2. Ingest throughput | one worker process | 810 chapters/s (best 918) | ≥ 1,000 chapters/s: **missed** | in-process 880 chapters/s (0.92×) | 2026-12-01 11:30 UTC, 0123456, quick, load 0.4 on 2 CPUs |',
    ]);
  });

  it('replaces only the groups that ran, keeps the others, and orders rows by group', () => {
    const first = updatePerformanceDoc(doc, [{ group: 'writer', figures: [writer] }, { group: 'upload', figures: [upload] }], RUN, ORDER);
    const second = updatePerformanceDoc(first, [{ group: 'ingest', figures: [ingest] }, { group: 'upload', figures: [upload, upload] }], LATER, ORDER);
    const rows = rowsOf(second);
    expect(rows.map((r) => r.split('|')[1]!.trim())).toEqual(['upload', 'upload', 'ingest', 'writer']);
    expect(rows[0]).toContain('2026-12-02 08:05 UTC, fedcba9, full, load 3.0 on 2 CPUs');
    expect(rows[3]).toContain('20,000 rows 64 producers');
    expect(rows[3]).toContain('2026-12-01 11:30 UTC, 0123456, quick, load 0.4 on 2 CPUs');
  });

  it('gives the same text when the same run is written twice', () => {
    const measured = [{ group: 'upload', figures: [upload] }];
    const once = updatePerformanceDoc(doc, measured, RUN, ORDER);
    expect(updatePerformanceDoc(once, measured, RUN, ORDER)).toBe(once);
  });

  it('refuses a document without the markers, saying which lines to add', () => {
    expect(() => updatePerformanceDoc('# Performance\n', [], RUN, ORDER)).toThrow(TABLE_START);
    expect(() => updatePerformanceDoc(`${TABLE_END}\n${TABLE_START}\n`, [], RUN, ORDER)).toThrow(/put the line/);
  });
});
