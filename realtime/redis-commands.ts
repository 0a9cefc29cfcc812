import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-client.ts';

type Reply<T> = Promise<T>;

/** Herald's Lua scripts as commands on an ioredis connection (BullMQ's `src/commands` pattern). */
export interface HeraldCommands {
  heraldPublishEvent(stateKey: string, eventsKey: string, publishedKey: string, ...args: (string | number)[]): Reply<[string, ...number[]]>;
  heraldReadDocumentState(stateKey: string, eventsKey: string, publishedKey: string, epoch: string, ttlSeconds: number): Reply<string[]>;
  heraldUpdatePresence(presenceKey: string, publishCommand: string, channel: string, documentId: string, ttlMs: number, ...fieldValues: string[]): Reply<string>;
}

const SCRIPTS = {
  heraldPublishEvent: 'publish-event.lua',
  heraldReadDocumentState: 'read-document-state.lua',
  heraldUpdatePresence: 'update-presence.lua',
} as const;

/** Scripts that take other than two keys. */
const KEY_COUNTS: Partial<Record<keyof typeof SCRIPTS, number>> = { heraldPublishEvent: 3, heraldReadDocumentState: 3, heraldUpdatePresence: 1 };

let sources: Record<keyof typeof SCRIPTS, string> | undefined;

/** Loads the scripts once per process and defines them on the connection (idempotent). */
export function withHeraldCommands<R extends RedisClient>(redis: R): R & HeraldCommands {
  sources ??= Object.fromEntries(
    Object.entries(SCRIPTS).map(([name, file]) => [name, readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8')]),
  ) as Record<keyof typeof SCRIPTS, string>;
  const target = redis as R & Partial<HeraldCommands>;
  for (const name of Object.keys(SCRIPTS) as (keyof typeof SCRIPTS)[]) {
    if (!target[name]) redis.defineCommand(name, { numberOfKeys: KEY_COUNTS[name] ?? 2, lua: sources[name] });
  }
  return target as R & HeraldCommands;
}

export type HeraldPipeline = ChainableCommander & {
  heraldPublishEvent(stateKey: string, eventsKey: string, publishedKey: string, ...args: (string | number)[]): HeraldPipeline;
};
