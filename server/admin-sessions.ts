import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient } from '../realtime/redis-client.ts';

/** Bull Board sign-ins, kept in Redis: the browser holds only an opaque, random id. */
export interface AdminSessions {
  /** Starts a session for `userId`; returns its id, the cookie's value. */
  start(userId: string): Promise<string>;
  /** The user of a live session, or null (unknown, ended or expired). */
  find(sessionId: string): Promise<string | null>;
  /** Ends a session; nothing happens when it is already gone. */
  end(sessionId: string): Promise<void>;
}

/** 32 random bytes, base64url: what `start` hands out and all `find` accepts. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Sessions under `<prefix>:admin-session:<sha256 of the id>`, holding the
 * user id and expiring after `ttlSeconds` from sign-in. Only the id's hash is
 * stored, so reading Redis does not yield a cookie that opens the board.
 */
export function createAdminSessions(deps: { redis: RedisClient; prefix: string; ttlSeconds: number }): AdminSessions {
  const key = (sessionId: string) => `${deps.prefix}:admin-session:${createHash('sha256').update(sessionId).digest('hex')}`;
  return {
    async start(userId) {
      const sessionId = randomBytes(32).toString('base64url');
      await deps.redis.set(key(sessionId), userId, 'EX', deps.ttlSeconds);
      return sessionId;
    },
    async find(sessionId) {
      return SESSION_ID.test(sessionId) ? deps.redis.get(key(sessionId)) : null;
    },
    async end(sessionId) {
      if (SESSION_ID.test(sessionId)) await deps.redis.del(key(sessionId));
    },
  };
}
