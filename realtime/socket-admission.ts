import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis-client.ts';
import type { Logger } from 'pino';
import { AppError } from '../domain/errors.ts';
import { userKeys } from './keys.ts';
import { ABUSE_COOLDOWN_MS, createAbuseRegistry } from './socket-guards.ts';

export interface SocketAdmissionOptions {
  redis: RedisClient;
  prefix: string;
  logger: Logger;
  /** Sockets one user may hold at once across every gateway. */
  maxPerUser: number;
  /** How long a claim lasts unless its gateway renews it (every third of this). */
  claimTtlMs: number;
  /** How long a user cut off for flooding is refused, on every gateway. Default 10 s. */
  cooldownMs?: number;
  /** This gateway's open sockets, read at each heartbeat. */
  openSockets(): Iterable<{ userId: string; socketId: string }>;
}

/**
 * Who may open a socket, shared by every gateway through Redis: at most
 * `maxPerUser` sockets per user, and none for a while after one of the
 * user's sockets was cut off for flooding.
 */
export interface SocketAdmission {
  /** Claims a slot for the socket at handshake; throws an AppError (`too_many_sockets`, `rate_limited`) when refused. */
  admit(userId: string, socketId: string): Promise<void>;
  /** Gives the socket's slot back (on disconnect). */
  release(userId: string, socketId: string): void;
  /** Refuses the user's handshakes on every gateway for the cool-down. */
  flag(userId: string): void;
  /** Stops the heartbeat; the claims of sockets still open lapse after `claimTtlMs`. */
  close(): void;
}

interface AdmissionCommands {
  heraldAdmitSocket(cutoffKey: string, socketsKey: string, member: string, max: number, ttlMs: number): Promise<[number, number]>;
  heraldRenewSocketClaims(socketsKey: string, ttlMs: number, ...members: string[]): Promise<number>;
}

const SCRIPTS = [
  { name: 'heraldAdmitSocket', file: 'admit-socket.lua', keys: 2 },
  { name: 'heraldRenewSocketClaims', file: 'renew-socket-claims.lua', keys: 1 },
] as const;
let sources: Map<string, string> | undefined;

const ADMITTED = 0;
const CUT_OFF = 1;

/**
 * Redis unreachable: the handshake is let through (fail open) with only this
 * gateway's own cut-offs applied. The cap and the cut-off bound what one user
 * costs; they are not access control (the token still is), each socket stays
 * under its own limits, and a subscribe needs Redis anyway. Failing closed
 * would turn a Redis blip into every reconnecting client being refused at
 * once. The heartbeat records the socket as soon as RedisClient answers again.
 *
 * Longer than ~60 lines on purpose: the claims, the heartbeat timer and the fail-open state are one state
 * shared by `admit`, `release`, `flag` and `close`; each inner function is short, and splitting the factory would mean
 * passing that state around or making it public.
 */
export function createSocketAdmission(options: SocketAdmissionOptions): SocketAdmission {
  const { prefix, logger, maxPerUser, claimTtlMs } = options;
  const redis = withAdmissionCommands(options.redis);
  const cooldownMs = options.cooldownMs ?? ABUSE_COOLDOWN_MS;
  const local = createAbuseRegistry(cooldownMs);
  const gatewayId = randomUUID();
  const member = (socketId: string) => `${gatewayId}:${socketId}`;
  let degraded = false;
  const onRedisError = (err: unknown, what: string) => {
    if (degraded) return;
    degraded = true; // one line per outage, not one per handshake
    logger.warn({ err }, `${what}: RedisClient unavailable; admitting sockets without the per-user cap until it answers`);
  };

  const renewClaims = () => {
    const byUser = new Map<string, string[]>();
    for (const { userId, socketId } of options.openSockets()) {
      const list = byUser.get(userId);
      if (list) list.push(member(socketId));
      else byUser.set(userId, [member(socketId)]);
    }
    // One command per user rather than one pipeline: each user's key has its own hash slot on Redis Cluster.
    const renewals = [...byUser].map(([userId, members]) =>
      redis.heraldRenewSocketClaims(userKeys(prefix, userId).sockets, claimTtlMs, ...members),
    );
    void Promise.allSettled(renewals).then((results) => {
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) onRedisError(failed.reason, 'socket claims not renewed');
      else if (results.length > 0) degraded = false;
    });
  };
  const heartbeat = setInterval(renewClaims, Math.max(100, Math.floor(claimTtlMs / 3)));
  heartbeat.unref();

  return {
    async admit(userId, socketId) {
      const wait = local.waitFor(userId);
      if (wait > 0) throw cutOff(wait);
      const keys = userKeys(prefix, userId);
      let verdict: number, value: number;
      try {
        [verdict, value] = await redis.heraldAdmitSocket(keys.cutoff, keys.sockets, member(socketId), maxPerUser, claimTtlMs);
        degraded = false;
      } catch (err) {
        onRedisError(err, 'socket admitted unchecked');
        return;
      }
      if (verdict === ADMITTED) return;
      throw verdict === CUT_OFF ? cutOff(value) : tooManySockets(maxPerUser);
    },
    release(userId, socketId) {
      // When this fails the claim lapses by itself after claimTtlMs.
      redis.zrem(userKeys(prefix, userId).sockets, member(socketId)).catch(() => {});
    },
    flag(userId) {
      local.flag(userId);
      redis.set(userKeys(prefix, userId).cutoff, '1', 'PX', cooldownMs).catch((err: unknown) => onRedisError(err, 'cut-off not shared'));
    },
    close() {
      clearInterval(heartbeat);
    },
  };
}

function cutOff(waitMs: number): AppError {
  return new AppError('rate_limited', `Cut off for flooding; connect again in ${Math.ceil(waitMs / 1000)} s.`);
}

function tooManySockets(max: number): AppError {
  return new AppError(
    'too_many_sockets',
    `At most ${max} open connections per user, counting every tab and device (the SDK shares one per browser). ` +
      'Close one and connect again; a connection that dropped without closing is let go within about a minute.',
  );
}

function withAdmissionCommands(redis: RedisClient): RedisClient & AdmissionCommands {
  sources ??= new Map(SCRIPTS.map((s) => [s.name, readFileSync(new URL(`./lua/${s.file}`, import.meta.url), 'utf8')]));
  const target = redis as RedisClient & Partial<AdmissionCommands>;
  for (const script of SCRIPTS) {
    if (!target[script.name]) redis.defineCommand(script.name, { numberOfKeys: script.keys, lua: sources.get(script.name)! });
  }
  return target as RedisClient & AdmissionCommands;
}
