import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { mountAdminBoard } from '../../server/admin-board.ts';
import type { AdminSessions } from '../../server/admin-sessions.ts';
import { createApp, type AppDeps } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { AppError } from '../../server/errors.ts';
import { createMetrics } from '../../server/metrics.ts';
import { DEFAULT_CONFIG } from '../support/config-defaults.ts';

const METRICS_TOKEN = 'scrape-me-please-0123456789';

/** The app with the page's routes and the board mounted; nothing behind them is reached by these requests. */
function app(overrides: Partial<AppDeps> = {}) {
  const unused = () => {
    throw new Error('not reached in these tests');
  };
  const sessions: AdminSessions = { start: unused, find: unused, end: unused };
  return createApp({
    logger: pino({ level: 'silent' }),
    authenticate: async () => {
      throw new AppError('unauthenticated', 'bad token');
    },
    maxUploadBytes: 1024 * 1024,
    corsOrigins: DEFAULT_CONFIG.corsOrigins,
    userConcurrency: DEFAULT_CONFIG.userRequests,
    health: { checks: [], stuckJobs: async () => 0 },
    metrics: createMetrics(),
    api: {} as NonNullable<AppDeps['api']>,
    mount: (router) => mountAdminBoard(router, { queues: [], authenticate: unused, adminUsers: ['root'], sessions, sessionTtlSeconds: 60, trustProxy: false }),
    ...overrides,
  });
}

/** A Content-Security-Policy header as directive -> sources. */
function csp(res: Response): Record<string, string[]> {
  const header = res.headers.get('content-security-policy');
  expect(header, 'Content-Security-Policy').toBeTruthy();
  return Object.fromEntries(header!.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...sources]) => [name, sources]));
}

function expectFramingAndReferrer(res: Response) {
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
}

describe('security headers', () => {
  it("the editor page and its files allow only the page's own scripts, styles and connections, and are never framed", async () => {
    for (const path of ['/', '/editor.js', '/editor.css', '/client.js']) {
      const res = await app().request(path);
      expect(res.status, path).toBe(200);
      expectFramingAndReferrer(res);
      expect(csp(res)).toEqual({
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'connect-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
        'form-action': ["'none'"],
        'frame-ancestors': ["'none'"],
      });
    }
  });

  it('the page has no inline script or style for the policy to block', async () => {
    const html = await (await app().request('/')).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  it('API answers, errors, /docs and /health carry the same headers', async () => {
    for (const path of ['/api/documents', '/docs', '/health', '/no-such-page']) {
      const res = await app().request(path);
      expectFramingAndReferrer(res);
      expect(csp(res)['frame-ancestors'], path).toEqual(["'none'"]);
      expect(csp(res)['script-src'], path).toEqual(["'self'"]);
    }
  });

  it('GET /docs is a readable HTML reference for a browser, the OpenAPI JSON otherwise and at /docs/openapi.json', async () => {
    const page = await app().request('/docs', { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('<code>/api/documents/{id}/package</code>');
    expect(html).toContain('id="schema-Job"');
    // Under the page's CSP: no inline script or style, its stylesheet served from here.
    expect(html).not.toMatch(/<script|<style|\sstyle=/i);
    expect((await app().request('/docs/reference.css')).headers.get('content-type')).toContain('text/css');
    for (const path of ['/docs', '/docs/openapi.json']) {
      const res = await app().request(path);
      expect(res.status, path).toBe(200);
      const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
      expect(doc.openapi).toBe('3.1.0');
      expect(Object.keys(doc.paths)).toContain('/api/jobs/{id}/retry');
    }
  });

  it('the Bull Board has its own policy: inline styles, but still only its own scripts, never framed', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      const res = await app().request(path);
      expect(res.status, path).toBe(401);
      expectFramingAndReferrer(res);
      const policy = csp(res);
      expect(policy['script-src']).toEqual(["'self'"]);
      expect(policy['style-src']).toEqual(["'self'", "'unsafe-inline'"]);
      expect(policy['frame-ancestors']).toEqual(["'none'"]);
      expect(policy['object-src']).toEqual(["'none'"]);
    }
  });
});

describe('GET /metrics', () => {
  it('is open when METRICS_TOKEN is not set', async () => {
    const res = await app().request('/metrics');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('herald_');
  });

  it('needs the bearer METRICS_TOKEN when one is set, answering 401 in the error envelope otherwise', async () => {
    const guarded = app({ metricsToken: METRICS_TOKEN });
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${METRICS_TOKEN}x`, `Basic ${METRICS_TOKEN}`, METRICS_TOKEN]) {
      const res = await guarded.request('/metrics', { headers: authorization ? { authorization } : {} });
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toEqual({ error: { code: 'unauthenticated', message: expect.stringContaining('METRICS_TOKEN') } });
    }
    const ok = await guarded.request('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('herald_');
  });
});

describe('web settings', () => {
  it('default to 8-hour board sessions, an untrusted X-Forwarded-Proto and an open /metrics', () => {
    expect(loadConfig({}).web).toEqual({ adminSessionTtlSeconds: 28_800, trustProxy: false, metricsToken: undefined });
    expect(loadConfig({ TRUST_PROXY: 'on', METRICS_TOKEN: METRICS_TOKEN, ADMIN_SESSION_TTL_SECONDS: '600' }).web)
      .toEqual({ adminSessionTtlSeconds: 600, trustProxy: true, metricsToken: METRICS_TOKEN });
  });

  it('refuses a guessable METRICS_TOKEN and a TRUST_PROXY other than on or off', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
    expect(() => loadConfig({ TRUST_PROXY: 'yes' })).toThrow(/TRUST_PROXY/);
  });
});
