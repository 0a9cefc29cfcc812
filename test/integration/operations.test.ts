import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient, waitForDocumentDone } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

/** Sums every sample of a metric (all label sets) in Prometheus text. */
function total(text: string, name: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe("the operator's view", () => {
  let h: TestHerald;

  beforeAll(async () => {
    h = await startTestHerald({ env: { JOB_RETENTION_DAYS: '30', HOUSEKEEPING_INTERVAL_MS: '1000', ADMIN_USERS: 'root' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const metrics = async () => {
    const res = await fetch(`${h.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };

  it('exposes Prometheus text whose series move when work happens', async () => {
    const before = await metrics();
    const client = await connectClient(h.url, await h.token('op'));
    const { documentId } = await upload(h, 'op', manuscript(3));
    await client.subscribe({ document_id: documentId });
    await waitForDocumentDone(client, documentId);
    await waitFor('the finalize job to be counted', async () => total(await metrics(), 'herald_jobs_finished_total') >= total(before, 'herald_jobs_finished_total') + 5);
    const after = await metrics();
    // Every sample line is `name{labels} value` or `name value` (prom-client writes NaN as Nan, which parsers accept); comments start with #.
    for (const line of after.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(/^[a-zA-Z_:][\w:]*(\{.*\})? (-?[\d.e+-]+|nan|[+-]inf)$/i);
    for (const name of ['herald_queue_jobs', 'herald_job_duration_seconds_bucket', 'herald_events_published_total', 'herald_sockets_connected',
      'herald_subscriptions', 'herald_push_latency_seconds_bucket', 'herald_http_request_duration_seconds_bucket', 'herald_writer_waits_total']) {
      expect(after, name).toContain(name);
    }
    expect(after).toMatch(/herald_jobs_finished_total\{type="chapter.process",outcome="completed"\} [1-9]/);
    expect(total(after, 'herald_events_published_total')).toBeGreaterThan(total(before, 'herald_events_published_total'));
    expect(total(after, 'herald_push_latency_seconds_count')).toBeGreaterThan(0);
    expect(after).toMatch(/herald_http_request_duration_seconds_count\{method="POST",route="\/api\/documents",status="202"\} 1/);
    expect(after).toMatch(/herald_sockets_connected 1/);
    expect(after).toMatch(/herald_subscriptions 1/);
    client.close();
  });

  it('lists every /api route in the OpenAPI reference', async () => {
    const doc = (await (await fetch(`${h.url}/docs`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(routes).toEqual(expect.arrayContaining([
      'POST /api/documents', 'GET /api/documents', 'GET /api/documents/{id}', 'DELETE /api/documents/{id}', 'POST /api/documents/{id}/members',
      'PATCH /api/chapters/{id}', 'POST /api/documents/{id}/package', 'GET /api/documents/{id}/package', 'POST /api/documents/{id}/refresh',
      'GET /api/documents/{id}/refreshes', 'GET /api/documents/{id}/jobs', 'GET /api/jobs/{id}', 'POST /api/jobs/{id}/retry', 'DELETE /api/jobs/{id}',
      'GET /api/queues', 'GET /api/notifications', 'POST /api/notifications/{id}/read', 'PUT /api/notifications/preferences', 'GET /health', 'GET /metrics',
    ]));
  });

  it('housekeeping deletes finished job rows past retention and keeps newer ones', async () => {
    const { documentId } = await upload(h, 'op', manuscript(2));
    await waitFor('the upload to finish', async () => {
      const [row] = await h.db.sql<{ n: number }[]>`select count(*)::int as n from jobs where document_id = ${documentId} and status = 'completed'`;
      return row!.n >= 4;
    });
    const old = await h.db.sql<{ id: string }[]>`
      update jobs set completed_at = now() - interval '31 days' where document_id = ${documentId} and type = 'chapter.process' returning id`;
    expect(old.length).toBe(2);
    await waitFor('housekeeping to delete the old rows', async () => {
      const [row] = await h.db.sql<{ n: number }[]>`select count(*)::int as n from jobs where id = any(${h.db.sql.array(old.map((o) => o.id))}::uuid[])`;
      return row!.n === 0;
    });
    const kept = await h.db.sql`select 1 from jobs where document_id = ${documentId} and type = 'document.finalize' and status = 'completed'`;
    expect(kept.length).toBe(1);
    const [run] = await h.db.sql<{ status: string }[]>`select status from jobs where type = 'jobs.housekeeping' and status = 'completed' limit 1`;
    expect(run?.status).toBe('completed');
  });

  it('opens the Bull Board for an admin (token once, then a cookie) and refuses others', async () => {
    expect((await fetch(`${h.url}/admin/queues`)).status).toBe(401);
    expect((await fetch(`${h.url}/admin/queues?token=${await h.token('op')}`, { redirect: 'manual' })).status).toBe(403);
    const entry = await fetch(`${h.url}/admin/queues?token=${await h.token('root')}`, { redirect: 'manual' });
    expect(entry.status).toBe(302);
    expect(entry.headers.get('location')).toBe('/admin/queues');
    const cookie = entry.headers.get('set-cookie')!;
    expect(cookie).toMatch(/herald_admin=.+HttpOnly/i);
    const headers = { cookie: cookie.split(';')[0]! };
    const page = await fetch(`${h.url}/admin/queues`, { headers });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const api = await fetch(`${h.url}/admin/queues/api/queues`, { headers });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual(['artifacts', 'chapters', 'documents']);
  });
});
