/**
 * Where a process spent its CPU, from a `.cpuprofile` written by
 * `node --cpu-prof` (e.g. the bench's worker processes with
 * BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof").
 *
 *   npx tsx test/bench/cpu-profile.ts <file.cpuprofile> [--by=package|file|function] [--top=30] [--from=<url part>]
 *
 * Self time is counted in samples, not in the time between them: on a busy
 * machine a sample taken after the process waited for a core carries that
 * wait, which then lands on whatever function happened to run. Idle samples
 * are left out. `--from=builtin.ts` skips everything before the first sample
 * in a file whose URL holds that text (start-up, module loading).
 */
import { readFileSync } from 'node:fs';
import { isMain } from './standalone.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export type Grouping = 'package' | 'file' | 'function';

export interface SelfTime {
  key: string;
  samples: number;
  share: number;
}

/** Busy samples per group, largest first, with the idle samples counted apart. */
export function summarizeProfile(profile: Profile, by: Grouping, from?: string): { busy: number; idle: number; rows: SelfTime[] } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const start = from ? Math.max(0, profile.samples.findIndex((id) => nodes.get(id)!.callFrame.url.includes(from))) : 0;
  const counts = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (let i = start; i < profile.samples.length; i++) {
    const frame = nodes.get(profile.samples[i]!)!.callFrame;
    if (frame.functionName === '(idle)') {
      idle++;
      continue;
    }
    busy++;
    const key = groupKey(frame, by);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const rows = [...counts].map(([key, samples]) => ({ key, samples, share: samples / Math.max(1, busy) })).sort((a, b) => b.samples - a.samples);
  return { busy, idle, rows };
}

function groupKey(frame: ProfileNode['callFrame'], by: Grouping): string {
  const url = frame.url.replace(/^file:\/\//, '');
  const where = !url ? (frame.functionName.startsWith('(') ? frame.functionName : `(native) ${frame.functionName}`) : shortPath(url);
  if (by === 'function') return `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
  if (by === 'file' || !url) return where;
  const modules = where.match(/^node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (modules) return `node_modules/${modules[1]}`;
  if (where.startsWith('node:')) return where.split('/')[0]!;
  return where.split('/').slice(0, -1).join('/') || where;
}

/** A path from the checkout's root (or from its last node_modules). */
function shortPath(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + 1);
  for (const top of ['/domain/', '/jobs/', '/realtime/', '/server/', '/sql/', '/test/']) {
    const at = url.lastIndexOf(top);
    if (at >= 0) return url.slice(at + 1);
  }
  return url;
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const by = (option('by') ?? 'file') as Grouping;
  if (!file || !['package', 'file', 'function'].includes(by)) {
    console.error('usage: npx tsx test/bench/cpu-profile.ts <file.cpuprofile> [--by=package|file|function] [--top=30] [--from=<url part>]');
    process.exit(2);
  }
  const { busy, idle, rows } = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as Profile, by, option('from'));
  console.log(`${busy} busy samples, ${idle} idle`);
  for (const row of rows.slice(0, Number(option('top') ?? 30))) {
    console.log(`${String(row.samples).padStart(7)} ${(row.share * 100).toFixed(1).padStart(5)} %  ${row.key}`);
  }
}
