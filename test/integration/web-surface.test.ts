import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { share, upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { createTestRedis } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

type Counts = { name: string; waiting: number; active: number; delayed: number; completed: number; failed: number; paused: number };

/** The cookie a response sets: its value and its attributes, lower-cased. */
function setCookie(res: Response) {
  const header = res.headers.get('set-cookie');
  expect(header, 'Set-Cookie').toBeTruthy();
  const [pair, ...attributes] = header!.split(';').map((p) => p.trim());
  return { pair: pair!, value: pair!.slice(pair!.indexOf('=') + 1), attributes: attributes.map((a) => a.toLowerCase()) };
}

describe('the Bull Board session', () => {
  // Two API processes on one deployment: `before` still lists `ex` in ADMIN_USERS, `after` (restarted without them) trusts the proxy.
  let before: TestHerald;
  let after: TestHerald;
  const redis = createTestRedis();

  beforeAll(async () => {
    before = await startTestHerald({ roles: ['api'], env: { ADMIN_USERS: 'root,ex' } });
    after = await startTestHerald({ roles: ['api'], db: before.db, prefix: before.prefix, env: { ADMIN_USERS: 'root', TRUST_PROXY: 'on' } });
  });
  afterAll(async () => {
    redis.disconnect();
    await after?.close();
    await before?.close();
  });

  const signIn = async (h: TestHerald, user: string, headers: Record<string, string> = {}) => {
    const jwt = await h.token(user);
    const res = await fetch(`${h.url}/admin/queues?token=${jwt}`, { redirect: 'manual', headers });
    expect(res.status).toBe(302);
    return { jwt, res, cookie: setCookie(res) };
  };
  const open = (h: TestHerald, cookie: string, path = '/admin/queues') => fetch(`${h.url}${path}`, { headers: { cookie } });

  it('keeps an opaque session id in the cookie, never the token, and the session in Redis', async () => {
    const { jwt, res, cookie } = await signIn(before, 'root');
    expect(res.headers.get('location')).toBe('/admin/queues');
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookie.value).not.toContain(jwt.split('.')[1]);
    expect(cookie.attributes).toEqual(expect.arrayContaining(['httponly', 'samesite=strict', 'path=/admin/queues', 'max-age=28800']));
    expect(cookie.attributes).not.toContain('secure');

    const keys = await redis.keys(`${before.prefix}:admin-session:*`);
    expect(keys).toHaveLength(1);
    expect(await redis.get(keys[0]!)).toBe('root');
    expect(await redis.ttl(keys[0]!)).toBeGreaterThan(28_000);
    expect(keys[0]).not.toContain(cookie.value);

    const page = await open(before, cookie.pair);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect((await open(before, cookie.pair, '/admin/queues/api/queues')).status).toBe(200);
    // Another API process of the deployment knows the session too.
    expect((await open(after, cookie.pair, '/admin/queues/api/queues')).status).toBe(200);
  });

  it('refuses the raw token as a cookie and a made-up session id', async () => {
    const jwt = await before.token('root');
    for (const value of [jwt, 'A'.repeat(43)]) {
      const res = await open(before, `herald_admin=${value}`);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
    }
  });

  it('logs out: the session is deleted and the cookie cleared; the old cookie no longer opens the board', async () => {
    const { cookie } = await signIn(before, 'root');
    expect((await open(before, cookie.pair)).status).toBe(200);
    const out = await fetch(`${before.url}/admin/queues/logout`, { method: 'POST', headers: { cookie: cookie.pair } });
    expect(out.status).toBe(204);
    const cleared = setCookie(out);
    expect(cleared.value).toBe('');
    expect(cleared.attributes).toEqual(expect.arrayContaining(['max-age=0', 'path=/admin/queues']));
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) expect((await open(before, cookie.pair, path)).status).toBe(401);

    // The address-bar way out, and signing out twice, both answer without a session.
    const second = await signIn(before, 'root');
    const link = await fetch(`${before.url}/admin/queues/logout`, { headers: { cookie: second.cookie.pair } });
    expect(link.status).toBe(200);
    expect(await link.text()).toContain('Signed out');
    expect((await open(before, second.cookie.pair)).status).toBe(401);
    expect((await fetch(`${before.url}/admin/queues/logout`, { method: 'POST' })).status).toBe(204);
  });

  it('refuses, and ends, the live session of a user no longer in ADMIN_USERS', async () => {
    const { cookie } = await signIn(before, 'ex');
    expect((await open(before, cookie.pair)).status).toBe(200);
    const refused = await open(after, cookie.pair);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect((await open(before, cookie.pair)).status).toBe(401);
  });

  it('marks the cookie Secure when a trusted proxy says the request came over https, and only then', async () => {
    const proxied = { 'x-forwarded-proto': 'https' };
    expect((await signIn(after, 'root', proxied)).cookie.attributes).toContain('secure');
    expect((await signIn(after, 'root')).cookie.attributes).not.toContain('secure');
    // TRUST_PROXY off: anyone could send the header, so it is ignored.
    expect((await signIn(before, 'root', proxied)).cookie.attributes).not.toContain('secure');
    const out = await fetch(`${after.url}/admin/queues/logout`, { method: 'POST', headers: proxied });
    expect(setCookie(out).attributes).toContain('secure');
  });
});

describe('GET /api/queues', () => {
  let h: TestHerald;

  beforeAll(async () => {
    // No worker: the uploads' jobs stay queued, so the counts hold still.
    h = await startTestHerald({ roles: ['api'], env: { ADMIN_USERS: 'root' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const queues = async (user: string) => {
    const res = await h.api(user, '/api/queues');
    expect(res.status).toBe(200);
    return (await res.json()) as { scope: string; queues: Counts[] };
  };
  const waiting = (body: { queues: Counts[] }) => body.queues.reduce((sum, q) => sum + q.waiting, 0);

  it("shows admins every user's counts and everyone else only their own work", async () => {
    const { documentId } = await upload(h, 'ann', manuscript(3));
    await share(h, 'ann', documentId, 'bob', 'editor');
    const annRows = async () => {
      const [row] = await h.db.sql<{ n: number }[]>`select count(*)::int as n from jobs where user_id = 'ann' and status = 'queued'`;
      return row!.n;
    };
    const queued = await waitFor("ann's queued jobs to be recorded", annRows);

    const ann = await queues('ann');
    expect(ann.scope).toBe('own');
    expect(ann.queues.map((q) => q.name).sort()).toEqual(['artifacts', 'chapters', 'documents']);
    expect(waiting(ann)).toBe(queued);

    // A collaborator on ann's document, and a stranger, see none of ann's work.
    for (const user of ['bob', 'eve']) {
      const other = await queues(user);
      expect(other.scope).toBe('own');
      expect(other.queues.every((q) => q.waiting + q.active + q.delayed + q.completed + q.failed + q.paused === 0)).toBe(true);
    }

    const root = await queues('root');
    expect(root.scope).toBe('all');
    expect(waiting(root)).toBeGreaterThanOrEqual(queued);
  });
});
