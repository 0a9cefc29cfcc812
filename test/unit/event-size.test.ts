import { describe, expect, it } from 'vitest';
import { MAX_EVENT_BYTES, boundEvent } from '../../realtime/event-size.ts';
import type { PackagePayload } from '../../realtime/events.ts';

const envelope = { document_id: '6f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f', at: '2026-12-01T10:00:00.000Z' };
/** The body as publish-event.lua sends it, with the largest seq it can hold. */
const published = (body: string) => `{"seq":${Number.MAX_SAFE_INTEGER},${body.slice(1)}`;
const bytes = (text: string) => Buffer.byteLength(text);

function bigPackage(chapters: number): PackagePayload['package'] {
  return {
    stage: 'essential',
    document_id: envelope.document_id,
    title: 'The Long Winter',
    kind: 'book',
    word_count: chapters * 400,
    reading_minutes: Math.round((chapters * 400) / 238),
    chapter_count: chapters,
    chapters: Array.from({ length: chapters }, (_, i) => ({ id: crypto.randomUUID(), index: i, title: `Chapter ${i + 1}: The harbour at night`, version: 1 })),
    description: 'Mara climbs the stairs with a lantern.',
    characters: [{ name: 'Mara', mentions: 40 }],
    built_at: envelope.at,
  };
}

describe('boundEvent', () => {
  it('sends an event that fits as it is', () => {
    const payload = { package: bigPackage(3) };
    const { payload: sent, body } = boundEvent('package.essential', envelope, payload);
    expect(sent).toBe(payload);
    expect(JSON.parse(body)).toEqual({ ...envelope, ...payload });
  });

  it('abridges a package of 10,000 chapters to a small one that keeps the card fields', () => {
    const pkg = bigPackage(10_000);
    const { payload, body } = boundEvent('package.full', envelope, { package: pkg });
    expect(bytes(published(body))).toBeLessThan(2048);
    expect(payload.package).toEqual({
      stage: 'essential',
      document_id: pkg.document_id,
      title: pkg.title,
      kind: 'book',
      word_count: pkg.word_count,
      reading_minutes: pkg.reading_minutes,
      chapter_count: 10_000,
      description: pkg.description,
      built_at: pkg.built_at,
      abridged: true,
    });
    expect(JSON.parse(body)).toEqual({ ...envelope, package: payload.package });
  });

  it('cuts a long summary and error of a chapter.status to fit, and names them', () => {
    const summary = 'A long summary. '.repeat(10_000);
    const error = 'x'.repeat(50_000);
    const { payload, body } = boundEvent('chapter.status', envelope, { chapter_id: envelope.document_id, index: 3, status: 'completed', progress: 100, summary, error, version: 2 });
    expect(bytes(published(body))).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(payload).toMatchObject({ chapter_id: envelope.document_id, index: 3, status: 'completed', progress: 100, version: 2 });
    expect(payload.summary!.endsWith('…')).toBe(true);
    expect(summary.startsWith(payload.summary!.slice(0, -1))).toBe(true);
    expect((payload as { truncated?: string[] }).truncated).toEqual(expect.arrayContaining(['summary']));
    expect(JSON.parse(body)).toEqual({ ...envelope, ...payload });
  });

  it('fits text that grows when escaped or encoded (quotes, control characters, emoji) without splitting a character', () => {
    for (const unit of ['"', '\u0001', '😀', 'é']) {
      const { payload, body } = boundEvent('chapter.status', envelope, { chapter_id: 'c', index: 0, status: 'failed', progress: 100, error: unit.repeat(70_000) });
      expect(bytes(published(body))).toBeLessThanOrEqual(MAX_EVENT_BYTES);
      expect(bytes(published(body))).toBeGreaterThan(MAX_EVENT_BYTES - 1024);
      expect(payload.error!.replaceAll(unit, '')).toBe('…');
    }
  });

  it('replaces a job result too big to send with null and keeps the rest of the job', () => {
    const job = { id: 'j1', type: 'package.build', status: 'completed' as const, result: { rows: Array.from({ length: 20_000 }, (_, i) => i) }, error: null };
    const { payload, body } = boundEvent('job.update', envelope, { job });
    expect(bytes(published(body))).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(payload.job).toEqual({ ...job, result: null });
    expect((payload as { truncated?: string[] }).truncated).toEqual(['job.result']);
  });
});
