import { describe, expect, it } from 'vitest';
import type { DocumentState } from '../../realtime/client/index.ts';
import { notableChanges, notificationToast } from '../../realtime/page/notable.ts';
import { writerMessage } from '../../realtime/page/writer-errors.ts';

const chapter = (id: string, status: 'queued' | 'processing' | 'completed' | 'failed', error: string | null = null) => ({
  id,
  index: Number(id.slice(1)),
  title: `Chapter ${id}`,
  status,
  progress: status === 'completed' ? 100 : 0,
  summary: null,
  error,
  version: 1,
  summaryVersion: null,
});

const state = (status: DocumentState['status'], chapters: DocumentState['chapters'], stage: 'essential' | 'full' | null = null): DocumentState => ({
  id: 'd',
  title: 'Harbour',
  status,
  progress: { completed: 0, failed: 0, total: chapters.length, status },
  chapters,
  package: { stage, content: null },
});

describe('the editor’s toasts', () => {
  it('announces a finished document, a failed chapter and each package stage, once, with ids every tab agrees on', () => {
    const before = state('processing', [chapter('c0', 'processing'), chapter('c1', 'queued')]);
    const after = state('partial', [chapter('c0', 'completed'), chapter('c1', 'failed', 'model timed out')], 'essential');
    const toasts = notableChanges(before, after);
    expect(toasts.map((t) => t.id)).toEqual(['d:problems', 'd:finished', 'd:package:essential']);
    expect(toasts[0]).toMatchObject({ kind: 'error', title: '“Harbour”: 1 chapter could not be analysed', body: 'The AI service did not answer in time.' });
    expect(notableChanges(after, after)).toEqual([]);
    expect(notableChanges(after, { ...after, package: { stage: 'full', content: null } }).map((t) => t.id)).toEqual(['d:package:full']);
  });

  it('merges every failure of a document into one toast, and says a retry is under way in a writer’s words', () => {
    const start = state('processing', [chapter('c0', 'processing'), chapter('c1', 'processing'), chapter('c2', 'queued')]);
    const retrying = state('processing', [chapter('c0', 'queued', 'fetch failed'), chapter('c1', 'processing'), chapter('c2', 'queued')]);
    expect(notableChanges(start, retrying)).toEqual([{ id: 'd:problems', kind: 'warning', title: '“Harbour” is taking longer', body: 'The AI service is unreachable; retrying…' }]);
    const one = state('processing', [chapter('c0', 'failed', 'fetch failed'), chapter('c1', 'processing'), chapter('c2', 'queued')]);
    const two = state('processing', [chapter('c0', 'failed', 'fetch failed'), chapter('c1', 'failed', 'connect ECONNREFUSED 10.0.0.7:443'), chapter('c2', 'queued')]);
    expect(notableChanges(retrying, one).map((t) => t.id)).toEqual(['d:problems']);
    expect(notableChanges(one, two)).toEqual([{ id: 'd:problems', kind: 'error', title: '“Harbour”: 2 chapters could not be analysed', body: 'The AI service is unreachable.' }]);
  });

  it('gives a notification the id of the live toast for the same event, naming the manuscript', () => {
    const n = { id: 'n1', kind: 'document.ingested', title: 'Your manuscript is analysed', body: '3 of 3 chapters analysed.', document_id: 'd', at: '2026-01-01T00:00:00Z' };
    expect(notificationToast(n, () => 'Harbour')).toEqual({ id: 'd:finished', kind: 'success', title: '“Harbour” is ready', body: '3 of 3 chapters analysed.', notificationIds: ['n1'] });
    const failed = { ...n, kind: 'job.failed', title: 'A package.build job failed', body: 'It failed after 3 of 3 attempts: fetch failed' };
    expect(notificationToast(failed, () => 'Harbour')).toMatchObject({ id: 'd:problems', kind: 'error', body: 'The AI service is unreachable.' });
    expect(writerMessage('Error: the model refused\n    at x (y.js:1)')).toBe('the model refused');
  });

  it('says nothing about a document it has just opened', () => {
    expect(notableChanges(undefined, state('completed', [chapter('c0', 'completed')], 'full'))).toEqual([]);
  });
});
