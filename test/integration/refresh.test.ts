import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { waitFor } from '../support/wait.ts';

interface RefreshAnswer {
  job_id: string;
  deduplicated: boolean;
}

/** No worker runs here, so every refresh stays pending: what is tested is the admission, not the work. */
describe('manual refresh admission across two API processes', () => {
  let a: TestHerald;
  let b: TestHerald;

  beforeAll(async () => {
    a = await startTestHerald({ roles: ['api', 'gateway'] });
    b = await startTestHerald({ roles: ['api'], db: a.db, prefix: a.prefix });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const refresh = async (h: TestHerald, user: string, documentId: string) => {
    const res = await h.api(user, `/api/documents/${documentId}/refresh`, { method: 'POST' });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as RefreshAnswer & { error?: { code: string } } };
  };

  it('accepts 5 per user across both processes, joins a pending one without counting it, and answers the 6th 429 with Retry-After', async () => {
    const docs: string[] = [];
    for (let i = 0; i < 6; i++) docs.push((await upload(a, 'ren', manuscript(1))).documentId);
    const first = await refresh(a, 'ren', docs[0]!);
    expect(first.status).toBe(202);
    expect(first.body.deduplicated).toBe(false);
    // Asked again while pending, on the other process: the same job, not counted.
    const joined = await refresh(b, 'ren', docs[0]!);
    expect(joined).toMatchObject({ status: 202, body: { job_id: first.body.job_id, deduplicated: true } });
    for (let i = 1; i < 5; i++) {
      const r = await refresh(i % 2 ? b : a, 'ren', docs[i]!);
      expect(r.status).toBe(202);
      expect(r.body.deduplicated).toBe(false);
    }
    const sixth = await refresh(b, 'ren', docs[5]!);
    expect(sixth.status).toBe(429);
    expect(sixth.body.error!.code).toBe('rate_limited');
    expect(Number(sixth.retryAfter)).toBeGreaterThan(0);
    expect(Number(sixth.retryAfter)).toBeLessThanOrEqual(300);
    // A pending one is still joined past the limit: joining costs nothing.
    expect((await refresh(a, 'ren', docs[1]!)).status).toBe(202);
  });

  it('leaves a second user unaffected', async () => {
    const { documentId } = await upload(a, 'sam', manuscript(1));
    const r = await refresh(b, 'sam', documentId);
    expect(r.status).toBe(202);
    expect(r.body.deduplicated).toBe(false);
  });

  it('keeps the history: who, when, which job, how it ended', async () => {
    const { documentId } = await upload(a, 'tia', manuscript(1));
    const { body } = await refresh(a, 'tia', documentId);
    const res = await a.api('tia', `/api/documents/${documentId}/refreshes`);
    expect(res.status).toBe(200);
    const { refreshes } = (await res.json()) as { refreshes: { job_id: string; user_id: string; status: string; created_at: string }[] };
    expect(refreshes).toEqual([expect.objectContaining({ job_id: body.job_id, user_id: 'tia', status: 'pending' })]);
    expect((await a.api('zed', `/api/documents/${documentId}/refreshes`)).status).toBe(404);
    expect((await a.api('zed', `/api/documents/${documentId}/refresh`, { method: 'POST' })).status).toBe(404);
  });

  it('cancels a queued refresh by removing its job; the history says cancelled and a new refresh starts', async () => {
    const { documentId } = await upload(a, 'uma', manuscript(1));
    const first = await refresh(a, 'uma', documentId);
    // Recorded queued by the process whose outbox relay enqueued it.
    await waitFor('the refresh job row', async () => (await a.api('uma', `/api/jobs/${first.body.job_id}`)).status === 200);
    const cancel = await b.api('uma', `/api/jobs/${first.body.job_id}`, { method: 'DELETE' });
    expect(cancel.status).toBe(202);
    expect(await cancel.json()).toMatchObject({ status: 'cancelled', job: { id: first.body.job_id, status: 'cancelled', type: 'document.refresh', priority: 'high' } });
    const { refreshes } = (await (await a.api('uma', `/api/documents/${documentId}/refreshes`)).json()) as { refreshes: { job_id: string; status: string }[] };
    expect(refreshes[0]).toMatchObject({ job_id: first.body.job_id, status: 'cancelled' });
    const next = await refresh(a, 'uma', documentId);
    expect(next.status).toBe(202);
    expect(next.body).toMatchObject({ deduplicated: false });
    expect(next.body.job_id).not.toBe(first.body.job_id);
  });
});
