/**
 * Model calls saved: a scripted editing session (200 saves over 20
 * chapters: the writer works through the chapters in order, 10 saves per
 * chapter at typing cadence, each save adding a sentence) against Herald
 * with every role, counting the AI calls Herald makes from the first save
 * until every refresh has run. The baseline is counted from the same script:
 * a naive backend that regenerates on every save (the chapter's summary and
 * embedding, the outline, and the sheet of every character the chapter
 * mentions), and the narrowest naive one (summary and embedding only).
 * Run with `npm run bench -- --only=model-calls` (or `npx tsx test/bench/model-calls.ts`).
 */
import pino from 'pino';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createBuiltinProvider } from '../../jobs/ai/builtin.ts';
import type { AiProvider } from '../../jobs/ai/provider.ts';
import { QUEUES } from '../../jobs/contracts.ts';
import { extractCharacters } from '../../domain/text/characters.ts';
import { loadConfig } from '../../server/config.ts';
import { startHerald } from '../../server/herald.ts';
import { countOutbox } from '../../sql/queries/outbox.ts';
import { postJson, REDIS_URL, removePrefix, type BenchContext } from './harness.ts';
import { novel } from './prose.ts';
import { isMain, pause, runStandalone } from './standalone.ts';
import type { Figure } from './stats.ts';

export interface ModelCallsOptions {
  chapters: number;
  savesPerChapter: number;
  /** Time between two saves of one chapter. */
  saveIntervalMs: number;
}

export const MODEL_CALLS_GOAL_SAVED = 0.8;

export async function benchModelCalls(ctx: BenchContext, options: ModelCallsOptions): Promise<Figure[]> {
  const prefix = ctx.scenarioPrefix('model-calls');
  const ai = countingProvider();
  const config = loadConfig(ctx.heraldEnv(prefix));
  const herald = await startHerald({ config, roles: ['api', 'gateway', 'worker'], logger: pino({ level: 'warn' }), ai });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queues = Object.values(QUEUES).map((name) => new Queue(name, { connection: redis, prefix }));
  try {
    const token = await ctx.token('bench-writer');
    const { document, chapters } = await postJson<{ document: { id: string }; chapters: { id: string }[] }>(
      `${herald.url}/api/documents`, token, JSON.stringify({ title: 'Session', content: novel(options.chapters, 500) }),
    );
    await settle(ctx, queues);
    ai.reset();
    const naive = await editingSession(ctx, herald.url, token, chapters.map((c) => c.id), options);
    await settle(ctx, queues);
    const made = ai.calls.summarize + ai.calls.embed;
    const saved = 1 - made / naive.full;
    const saves = options.chapters * options.savesPerChapter;
    return [{
      figure: '7. Model calls saved',
      setup: `${saves} saves over ${options.chapters} chapters (${options.savesPerChapter} per chapter, one every ${options.saveIntervalMs} ms, each adding a sentence), default thresholds and ${config.freshness.summaryDebounceMs} ms summary debounce; every role in one process; document ${document.id.slice(0, 8)}`,
      value: { amount: made, unit: 'calls', note: `${ai.calls.summarize} summaries + ${ai.calls.embed} embeddings` },
      goal: { text: `≥ ${MODEL_CALLS_GOAL_SAVED * 100}% fewer than naive`, met: saved >= MODEL_CALLS_GOAL_SAVED },
      baseline: { label: 'naive: regenerate all on every save', amount: naive.full, unit: 'calls', ratio: made / naive.full },
      detail: { savedVsFullNaive: saved, narrowNaive: naive.narrow, savedVsNarrowNaive: 1 - made / naive.narrow, calls: ai.calls },
    }];
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    redis.disconnect();
    await herald.close();
    await removePrefix(prefix);
  }
}

/** The writer's session; returns what a naive backend would have called. */
async function editingSession(ctx: BenchContext, url: string, token: string, chapterIds: string[], options: ModelCallsOptions) {
  let full = 0;
  let narrow = 0;
  for (const chapterId of chapterIds) {
    const [row] = await ctx.sql<{ content: string; version: number }[]>`select content, version from chapters where id = ${chapterId}`;
    let { content, version } = row!;
    for (let i = 0; i < options.savesPerChapter; i++) {
      content += ` Mara noticed detail ${i + 1} of the ${['harbour', 'storm', 'ledger', 'lantern'][i % 4]} and wrote it down.`;
      const res = await fetch(`${url}/api/chapters/${chapterId}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ base_version: version, content, op_id: `${chapterId}-${version}` }),
      });
      if (res.status !== 200) throw new Error(`autosave answered ${res.status}: ${await res.text()}`);
      version = ((await res.json()) as { chapter: { version: number } }).chapter.version;
      narrow += 2;
      full += 3 + extractCharacters(content, 'book').length;
      await pause(options.saveIntervalMs);
    }
  }
  return { full, narrow };
}

/**
 * Waits until the outbox is empty and no job is waiting, delayed or running,
 * twice in a row. The housekeeping schedulers always keep their next run
 * delayed (and run it now and then): those jobs are not the session's work.
 */
async function settle(ctx: BenchContext, queues: Queue[]): Promise<void> {
  let quiet = 0;
  const deadline = Date.now() + 300_000;
  while (quiet < 2) {
    if (Date.now() > deadline) throw new Error('the session did not settle within 5 minutes');
    await pause(500);
    const jobs = (await Promise.all(queues.map((q) => q.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'])))).flat();
    const busy = jobs.filter((j) => j && j.name !== 'jobs.housekeeping').length + (await countOutbox(ctx.sql));
    quiet = busy === 0 ? quiet + 1 : 0;
  }
}

function countingProvider(): AiProvider & { calls: { summarize: number; embed: number }; reset(): void } {
  const real = createBuiltinProvider();
  const provider = {
    name: 'counting',
    calls: { summarize: 0, embed: 0 },
    reset() {
      provider.calls = { summarize: 0, embed: 0 };
    },
    async summarize(text: string, options?: { signal?: AbortSignal }) {
      provider.calls.summarize++;
      return real.summarize(text, options);
    },
    async embed(text: string, options?: { signal?: AbortSignal }) {
      provider.calls.embed++;
      return real.embed(text, options);
    },
  };
  return provider;
}

if (isMain(import.meta.url)) {
  runStandalone('model-calls', (ctx) => benchModelCalls(ctx, { chapters: 20, savesPerChapter: 10, saveIntervalMs: 150 }));
}
