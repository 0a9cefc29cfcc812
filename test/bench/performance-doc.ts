/**
 * The figures table of docs/performance.md, rewritten by `npm run bench -- --write-docs`.
 * Pure: it takes the document's text and returns the new text.
 *
 * The table sits between two marker lines; everything outside them is prose
 * the bench never touches. Each row names the bench group that measured it and
 * the run it came from, so a run of some groups (`--only=`, `--quick`) replaces
 * only those groups' rows and leaves the others as their last run wrote them.
 */
import { amount, ms, type Figure } from './stats.ts';

export const TABLE_START = '<!-- bench-table:start: written by `npm run bench -- --write-docs`; edits between the markers are replaced -->';
export const TABLE_END = '<!-- bench-table:end -->';

const HEADER = ['group', 'figure', 'setup', 'result', 'goal', 'baseline', 'run'] as const;

/** The run a row came from, as the table shows it. */
export interface RunLabel {
  /** When the run started. */
  startedAt: Date;
  /** The commit measured, or null outside a git checkout. */
  commit: string | null;
  mode: 'quick' | 'full';
  /** The machine's 1-minute load average when the run started, and its CPU count: a busy machine's figures say so. */
  load: { average: number; cpus: number };
}

/** One group's figures from the run that just ended. */
export interface GroupFigures {
  group: string;
  figures: readonly Figure[];
}

/**
 * Replaces the rows of the groups in `measured` with their new figures, keeps
 * every other group's rows, and orders the rows by `groupOrder` (rows of a
 * group the order does not know go last, as they were).
 */
export function updatePerformanceDoc(doc: string, measured: readonly GroupFigures[], run: RunLabel, groupOrder: readonly string[]): string {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start) {
    throw new Error(`docs/performance.md has no figures table to update: put the line\n${TABLE_START}\nand, below it, the line\n${TABLE_END}\nwhere the table belongs, then run again`);
  }
  const replaced = new Set(measured.map((m) => m.group));
  const kept = tableRows(doc.slice(start + TABLE_START.length, end)).filter((row) => !replaced.has(row.group));
  const fresh = measured.flatMap((m) => m.figures.map((f) => ({ group: m.group, line: figureRow(m.group, f, run) })));
  const rank = (group: string) => {
    const i = groupOrder.indexOf(group);
    return i < 0 ? groupOrder.length : i;
  };
  const rows = [...kept, ...fresh].map((row, i) => ({ ...row, i })).sort((a, b) => rank(a.group) - rank(b.group) || a.i - b.i);
  const table = [tableLine([...HEADER]), tableLine(HEADER.map(() => '---')), ...rows.map((r) => r.line)].join('\n');
  return `${doc.slice(0, start)}${TABLE_START}\n${table}\n${doc.slice(end)}`;
}

/** One Markdown table row for a figure. */
export function figureRow(group: string, f: Figure, run: RunLabel): string {
  const result = [
    f.latency ? `p50 ${ms(f.latency.p50)} / p95 ${ms(f.latency.p95)} / p99 ${ms(f.latency.p99)} (n ${f.latency.n})` : '',
    f.value ? amount(f.value.amount, f.value.unit) + (f.value.note ? ` ${f.value.note}` : '') : '',
  ].filter(Boolean);
  const goal = f.goal ? `${f.goal.text}: **${f.goal.met ? 'met' : 'missed'}**` : '';
  const baseline = f.baseline ? `${f.baseline.label} ${amount(f.baseline.amount, f.baseline.unit)} (${f.baseline.ratio.toFixed(2)}×)` : '';
  const label = [
    `${run.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    run.commit ? run.commit.slice(0, 7) : 'no commit',
    run.mode,
    `load ${run.load.average.toFixed(1)} on ${run.load.cpus} CPUs`,
  ].join(', ');
  return tableLine([group, f.figure, f.setup, result.join('; '), goal, baseline, label]);
}

function tableRows(block: string): { group: string; line: string }[] {
  return block
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2) // the header and its rule
    .map((line) => ({ group: line.split('|')[1]!.trim(), line }));
}

function tableLine(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

/** A cell holds one line, and a `|` in it would end the cell. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}
