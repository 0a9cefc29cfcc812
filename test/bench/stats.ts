/**
 * Percentiles and the one table `npm run bench` prints. Pure: no I/O but the
 * string it returns.
 */

export interface Latency {
  /** Samples, in milliseconds. */
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
}

/** One line of the table, and one entry of bench-results/latest.json. */
export interface Figure {
  /** `1. Upload latency`, `3. Batched writer`, … */
  figure: string;
  /** What ran, in enough words to reproduce it. */
  setup: string;
  latency?: Latency;
  /** The headline number and its unit (ms, chapters/s, rows/s). */
  value?: { amount: number; unit: string; note?: string };
  goal?: { text: string; met: boolean };
  baseline?: { label: string; amount: number; unit: string; ratio: number };
  /** Anything else worth keeping in the JSON (raw samples, counts). */
  detail?: Record<string, unknown>;
}

/** Linear interpolation between closest ranks (what numpy calls `linear`). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

export function summarize(samples: readonly number[]): Latency {
  return {
    n: samples.length,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    mean: samples.reduce((a, b) => a + b, 0) / Math.max(samples.length, 1),
    max: Math.max(...samples),
  };
}

/** Milliseconds with a precision that suits the size. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (value < 1) return `${value.toFixed(3)} ms`;
  if (value < 100) return `${value.toFixed(1)} ms`;
  return `${Math.round(value).toLocaleString('en-US')} ms`;
}

export function amount(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '—';
  if (unit === 'ms') return ms(value);
  const digits = value >= 100 ? 0 : 1;
  return `${value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${unit}`;
}

const COLUMNS = ['figure', 'setup', 'p50', 'p95', 'p99', 'value', 'goal', 'baseline', 'ratio'] as const;

/** The figures as one plain-text table; long setups wrap inside their column. */
export function formatTable(figures: readonly Figure[], setupWidth = 64): string {
  const rows = figures.map((f) => ({
    figure: f.figure,
    setup: f.setup,
    p50: f.latency ? ms(f.latency.p50) : '',
    p95: f.latency ? ms(f.latency.p95) : '',
    p99: f.latency ? ms(f.latency.p99) : '',
    value: f.value ? amount(f.value.amount, f.value.unit) + (f.value.note ? ` ${f.value.note}` : '') : '',
    goal: f.goal ? `${f.goal.text} ${f.goal.met ? 'MET' : 'MISSED'}` : '',
    baseline: f.baseline ? `${f.baseline.label} ${amount(f.baseline.amount, f.baseline.unit)}` : '',
    ratio: f.baseline ? `${f.baseline.ratio.toFixed(2)}x` : '',
  }));
  const cells = rows.map((r) => COLUMNS.map((c) => (c === 'setup' ? wrap(r[c], setupWidth) : [r[c]])));
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...cells.map((row) => Math.max(...row[i]!.map((l) => l.length)))));
  const line = (parts: string[]) => `| ${parts.map((p, i) => p.padEnd(widths[i]!)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  const out = [line([...COLUMNS]), rule];
  for (const row of cells) {
    const height = Math.max(...row.map((c) => c.length));
    for (let i = 0; i < height; i++) out.push(line(row.map((c) => c[i] ?? '')));
  }
  return out.join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/)) {
    if (current && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else {
      current = current ? `${current} ${word}` : word;
    }
  }
  if (current) lines.push(current);
  return lines.length > 0 ? lines : [''];
}
