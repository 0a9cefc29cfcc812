/**
 * Autosave latency: `PATCH /api/chapters/:id` under N concurrent editors,
 * each a different user on a different chapter of one document, each saving
 * every `thinkMs` (an editor's autosave cadence, compressed), with a single
 * editor alone on the same Herald as the baseline. Run with
 * `npx tsx test/bench/autosave.ts [--quick] [--editors=50] [--saves=30] [--think=1000]`.
 * The load generator runs in the same process as Herald, on the same cores.
 */
import type { Role } from '../../server/config.ts';
import { countOutbox } from '../../sql/queries/outbox.ts';
import { postJson, removePrefix, startBenchHerald, type BenchContext } from './harness.ts';
import { novel } from './prose.ts';
import { isMain, pause, runStandalone } from './standalone.ts';
import { summarize, type Figure } from './stats.ts';

export interface AutosaveBenchOptions {
  editors: number;
  savesPerEditor: number;
  thinkMs: number;
  wordsPerChapter: number;
}

export const AUTOSAVE_GOAL_P99_MS = 15;

export async function benchAutosave(ctx: BenchContext, options: AutosaveBenchOptions): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const roles of [['api'], ['api', 'gateway', 'worker']] as Role[][]) {
    figures.push(...(await measure(ctx, roles, options)));
  }
  return figures;
}

async function measure(ctx: BenchContext, roles: Role[], options: AutosaveBenchOptions): Promise<Figure[]> {
  const prefix = ctx.scenarioPrefix(`autosave-${roles.length}`);
  const herald = await startBenchHerald(ctx, { roles, prefix });
  try {
    const owner = await ctx.token('bench-owner');
    const upload = await postJson<{ document: { id: string }; chapters: { id: string }[] }>(
      `${herald.url}/api/documents`,
      owner,
      JSON.stringify({ title: 'Autosave bench', content: novel(options.editors, options.wordsPerChapter) }),
    );
    const editors = await Promise.all(
      upload.chapters.map(async (chapter, i) => {
        const user = `bench-editor-${i}`;
        await postJson(`${herald.url}/api/documents/${upload.document.id}/members`, owner, JSON.stringify({ user_id: user, role: 'editor' }), 201);
        const text = await chapterText(ctx, chapter.id);
        return { chapterId: chapter.id, token: await ctx.token(user), text, version: 1 };
      }),
    );
    // Baseline: one editor alone, same cadence.
    const alone = await editSession(herald.url, editors[0]!, options.savesPerEditor, options.thinkMs);
    const together = (await Promise.all(editors.map((e) => editSession(herald.url, e, options.savesPerEditor, options.thinkMs)))).flat();
    const drainStarted = performance.now();
    while ((await countOutbox(ctx.sql)) > 0) await pause(5);
    const drainMs = performance.now() - drainStarted;

    const latency = summarize(together);
    const setup = `${options.editors} editors (users) on ${options.editors} chapters of one document, ~${options.wordsPerChapter} words each, a save every ${options.thinkMs} ms ±20% (random phase), ${options.savesPerEditor} saves each; roles ${roles.join('+')}`;
    return [
      {
        figure: '7. Autosave latency',
        setup,
        latency,
        goal: { text: `p99 < ${AUTOSAVE_GOAL_P99_MS} ms`, met: latency.p99 < AUTOSAVE_GOAL_P99_MS },
        baseline: { label: 'one editor alone p99', amount: summarize(alone).p99, unit: 'ms', ratio: latency.p99 / summarize(alone).p99 },
        detail: { aloneMs: summarize(alone), outboxDrainAfterLastSaveMs: drainMs, samples: together.length },
      },
    ];
  } finally {
    await herald.close();
    await removePrefix(prefix);
  }
}

interface Editor {
  chapterId: string;
  token: string;
  text: string;
  version: number;
}

/** One editor typing: each save appends a sentence to the chapter, on the version the last save returned. */
async function editSession(url: string, editor: Editor, saves: number, thinkMs: number): Promise<number[]> {
  const samples: number[] = [];
  // Editors are not in lockstep: each starts at a random point of the cadence and drifts by ±20%.
  await pause(Math.random() * thinkMs);
  for (let i = 0; i < saves; i++) {
    editor.text += ` The editor added sentence ${editor.version} about the harbour.`;
    const started = performance.now();
    const res = await fetch(`${url}/api/chapters/${editor.chapterId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${editor.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ base_version: editor.version, content: editor.text, op_id: `${editor.chapterId}-${editor.version}` }),
    });
    const body = (await res.json()) as { chapter?: { version: number } };
    const elapsed = performance.now() - started;
    if (res.status !== 200) throw new Error(`autosave answered ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
    editor.version = body.chapter!.version;
    samples.push(elapsed);
    await pause(thinkMs * (0.8 + Math.random() * 0.4) - elapsed);
  }
  return samples;
}

async function chapterText(ctx: BenchContext, chapterId: string): Promise<string> {
  const [row] = await ctx.sql<{ content: string }[]>`select content from chapters where id = ${chapterId}`;
  return row!.content;
}

if (isMain(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
  runStandalone('autosave', (ctx) =>
    benchAutosave(ctx, {
      editors: arg('editors', 50),
      savesPerEditor: arg('saves', quick ? 10 : 30),
      thinkMs: arg('think', 1000),
      wordsPerChapter: 500,
    }),
  );
}
