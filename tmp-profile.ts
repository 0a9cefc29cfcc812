import { createBenchContext, startBenchHerald, postJson } from './test/bench/harness.ts';
import { novel } from './test/bench/prose.ts';
const ctx = await createBenchContext();
try {
  const prefix = ctx.scenarioPrefix('p');
  const herald = await startBenchHerald(ctx, { roles: ['api'], prefix });
  const owner = await ctx.token('bench-owner');
  const up = await postJson<{ document: { id: string }; chapters: { id: string }[] }>(`${herald.url}/api/documents`, owner, JSON.stringify({ title: 'x', content: novel(5, 500) }));
  const [row] = await ctx.sql<{ content: string }[]>`select content from chapters where id = ${up.chapters[0]!.id}`;
  let text = row!.content; let version = 1;
  const times: number[] = [];
  for (let i = 0; i < 60; i++) {
    text += ' More words here.';
    const t = performance.now();
    const res = await fetch(`${herald.url}/api/chapters/${up.chapters[0]!.id}`, { method: 'PATCH', headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' }, body: JSON.stringify({ base_version: version, content: text, op_id: `op-${i}` }) });
    const body = await res.json() as any; version = body.chapter.version;
    times.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(times.map((x) => x.toFixed(1)).join(' '));
  const t2: number[] = [];
  for (let i = 0; i < 30; i++) { const t = performance.now(); await fetch(`${herald.url}/api/documents/${up.document.id}`, { headers: { authorization: `Bearer ${owner}` } }); t2.push(performance.now() - t); }
  console.log('GET doc', t2.map((x) => x.toFixed(1)).join(' '));
  await herald.close();
} finally { await ctx.cleanup(); }
