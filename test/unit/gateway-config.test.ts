import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { loadConfig } from '../../server/config.ts';
import { originGuard } from '../../realtime/socket-guards.ts';

describe('gateway configuration', () => {
  it('defaults to same-origin only and the documented socket limits', () => {
    expect(loadConfig({})).toMatchObject({
      corsOrigins: [],
      gateway: { maxSubscriptions: 100, rateLimit: { perSecond: 20, burst: 120 }, maxMessageBytes: 65536 },
    });
  });

  it('reads CORS_ORIGINS as a comma-separated list of origins, or *', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:5173' }).corsOrigins).toEqual(['https://a.example', 'http://localhost:5173']);
    expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
    expect(() => loadConfig({ CORS_ORIGINS: 'a.example' })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://a.example/path' })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ SOCKET_RATE_LIMIT: '0', SOCKET_MAX_SUBSCRIPTIONS: 'many' })).toThrow(/(?=[\s\S]*SOCKET_RATE_LIMIT)(?=[\s\S]*SOCKET_MAX_SUBSCRIPTIONS)/);
  });

  it('caps sockets per user across gateways, with claims that lapse after 30 s by default', () => {
    expect(loadConfig({}).sockets).toEqual({ maxPerUser: 20, claimTtlMs: 30_000 });
    expect(loadConfig({ SOCKET_MAX_PER_USER: '3', SOCKET_CLAIM_TTL_MS: '2000' }).sockets).toEqual({ maxPerUser: 3, claimTtlMs: 2000 });
    expect(() => loadConfig({ SOCKET_MAX_PER_USER: '0', SOCKET_CLAIM_TTL_MS: '10' })).toThrow(/(?=[\s\S]*SOCKET_MAX_PER_USER)(?=[\s\S]*SOCKET_CLAIM_TTL_MS)/);
  });

  it('renews presence every 5 s with entries that lapse after 20 s by default, renewing well within the lifetime', () => {
    expect(loadConfig({}).presence).toEqual({ ttlMs: 20_000, renewMs: 5000 });
    expect(loadConfig({ PRESENCE_TTL_MS: '3000', PRESENCE_RENEW_MS: '500' }).presence).toEqual({ ttlMs: 3000, renewMs: 500 });
    expect(() => loadConfig({ PRESENCE_TTL_MS: '5000', PRESENCE_RENEW_MS: '5000' })).toThrow(/PRESENCE_RENEW_MS/);
  });
});

describe('socket origin guard', () => {
  const decide = (allowed: string[], headers: Record<string, string>) =>
    new Promise<boolean>((resolve) => originGuard(allowed)({ headers } as IncomingMessage, (_err, ok) => resolve(ok)));

  it('lets servers (no Origin) and the same host in, and other sites only when listed', async () => {
    expect(await decide([], { host: 'h.example:3000' })).toBe(true);
    expect(await decide([], { host: 'h.example:3000', origin: 'https://h.example:3000' })).toBe(true);
    expect(await decide([], { host: 'h.example:3000', origin: 'https://evil.example' })).toBe(false);
    expect(await decide(['https://app.example'], { host: 'h.example', origin: 'https://app.example' })).toBe(true);
    expect(await decide(['*'], { host: 'h.example', origin: 'https://any.example' })).toBe(true);
    expect(await decide([], { host: 'h.example', origin: 'not a url' })).toBe(false);
  });
});
