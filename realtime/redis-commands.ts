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

/**
 * Lua prepended to a script's own (a script cannot call another): the rule
 * on histories begun on another server, shared by the two scripts that start
 * one.
 */
const PRELUDES: Partial<Record<keyof typeof SCRIPTS, readonly string[]>> = {
  heraldPublishEvent: ['history-origin.lua'],
  heraldReadDocumentState: ['history-origin.lua'],
};

/** Scripts that take other than two keys. */
const KEY_COUNTS: Partial<Record<keyof typeof SCRIPTS, number>> = { heraldPublishEvent: 3, heraldReadDocumentState: 3, heraldUpdatePresence: 1 };

let sources: Record<keyof typeof SCRIPTS, string> | undefined;

/** Loads the scripts once per process and defines them on the connection (idempotent). */
export function withHeraldCommands<R extends RedisClient>(redis: R): R & HeraldCommands {
  const read = (file: string) => readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');
  sources ??= Object.fromEntries(
    (Object.entries(SCRIPTS) as [keyof typeof SCRIPTS, string][]).map(([name, file]) => [name, [...(PRELUDES[name] ?? []), file].map(read).join('\n')]),
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
