import { diff3Merge } from 'node-diff3';

/** One passage both writers changed, differently: each side's text and the text they started from. */
export interface MergeConflict {
  mine: string;
  theirs: string;
  base: string;
}

/** The merged text as pieces: agreed text, and the passages the writer must choose between. */
export type MergePiece = string | MergeConflict;

export type MergeOutcome = { clean: true; text: string } | { clean: false; pieces: MergePiece[] };

/** Above this many tokens (lines, or words) in the passage both changed, it is not diffed (the diff grows with the square): the writer chooses. */
const MAX_TOKENS = 20_000;

/**
 * Three-way merge of chapter text: `base` is the text both writers started
 * from, `mine` and `theirs` what each made of it. Each side's change is
 * first narrowed to the span between what it left alone at the start and at
 * the end: spans apart are merged at once, whatever the chapter's length.
 * Overlapping spans (widened to whole paragraphs) are merged by paragraph
 * (line) with diff3, and a paragraph both changed again word by word, so two
 * writers editing different sentences of one paragraph still merge cleanly.
 * What both changed in the same words is a conflict; the same change on both
 * sides is not.
 */
export function mergeText(base: string, mine: string, theirs: string): MergeOutcome {
  if (mine === theirs || theirs === base) return { clean: true, text: mine };
  if (mine === base) return { clean: true, text: theirs };
  const a = changedSpan(base, mine);
  const b = changedSpan(base, theirs);
  // Spans in different paragraphs, with a line end between them that neither touched. (Within a line the
  // spans' ends are not reliable: "the red lamp" and "the green lamp" may each be aligned on another space.)
  if (apart(base, a.end, b.start)) return { clean: true, text: mine.slice(0, mine.length - (base.length - b.start)) + theirs.slice(b.start) };
  if (apart(base, b.end, a.start)) return { clean: true, text: theirs.slice(0, theirs.length - (base.length - a.start)) + mine.slice(a.start) };
  // Outside [from, to) of base, all three texts are the same.
  const first = Math.min(a.start, b.start);
  const from = first === 0 ? 0 : base.lastIndexOf('\n', first - 1) + 1;
  const nextBreak = base.indexOf('\n', Math.max(a.end, b.end));
  const to = nextBreak === -1 ? base.length : nextBreak + 1;
  const tail = base.length - to;
  const pieces: MergePiece[] = [base.slice(0, from)];
  const [o, m, t] = [base.slice(from, to), mine.slice(from, mine.length - tail), theirs.slice(from, theirs.length - tail)];
  const [lo, lm, lt] = [lines(o), lines(m), lines(t)];
  if (lo.length + lm.length + lt.length > MAX_TOKENS) pieces.push({ mine: m, theirs: t, base: o });
  else {
    for (const region of diff3Merge(lm, lo, lt)) {
      if (region.ok) pieces.push(region.ok.join(''));
      else if (region.conflict) pieces.push(...mergeWords(region.conflict.o.join(''), region.conflict.a.join(''), region.conflict.b.join('')));
    }
  }
  pieces.push(base.slice(to));
  return settle(pieces);
}

/** The merged text with every conflict settled one way: mine, theirs, or both (mine, then theirs, for the writer to edit). */
export function resolveMerge(outcome: MergeOutcome, choice: 'mine' | 'theirs' | 'both'): string {
  if (outcome.clean) return outcome.text;
  return outcome.pieces
    .map((p) => (typeof p === 'string' ? p : choice === 'mine' ? p.mine : choice === 'theirs' ? p.theirs : joinBoth(p)))
    .join('');
}

/**
 * Where a caret at `position` in `before` belongs in `after`: before the
 * changed span it stays, after it it moves by the change in length, inside it
 * it keeps its distance from the span's start (at most to the span's end).
 */
export function mapCaret(before: string, after: string, position: number): number {
  if (before === after) return position;
  const span = changedSpan(before, after);
  if (position <= span.start) return position;
  if (position >= span.end) return Math.min(after.length, position + after.length - before.length);
  return span.start + Math.min(position - span.start, span.otherEnd - span.start);
}

function apart(base: string, end: number, start: number): boolean {
  return start - end >= 2 && base.slice(end, start).includes('\n');
}

/**
 * What `other` changed of `base`: base[start, end) became other[start,
 * otherEnd); before `start` and after `end` (resp. `otherEnd`) they agree.
 */
function changedSpan(base: string, other: string): { start: number; end: number; otherEnd: number } {
  const max = Math.min(base.length, other.length);
  let start = 0;
  while (start < max && base.charCodeAt(start) === other.charCodeAt(start)) start++;
  let suffix = 0;
  while (suffix < max - start && base.charCodeAt(base.length - 1 - suffix) === other.charCodeAt(other.length - 1 - suffix)) suffix++;
  return { start, end: base.length - suffix, otherEnd: other.length - suffix };
}

function mergeWords(base: string, mine: string, theirs: string): MergePiece[] {
  const o = words(base);
  const a = words(mine);
  const b = words(theirs);
  if (o.length + a.length + b.length > MAX_TOKENS) return [{ mine, theirs, base }];
  return diff3Merge(a, o, b).map((region) =>
    region.conflict ? { mine: region.conflict.a.join(''), theirs: region.conflict.b.join(''), base: region.conflict.o.join('') } : region.ok!.join(''),
  );
}

/** Joins neighbouring agreed pieces; a merge without conflicts becomes one text. */
function settle(pieces: MergePiece[]): MergeOutcome {
  const joined: MergePiece[] = [];
  for (const p of pieces) {
    const last = joined.at(-1);
    if (typeof p === 'string' && typeof last === 'string') joined[joined.length - 1] = last + p;
    else if (p !== '') joined.push(p);
  }
  if (joined.every((p) => typeof p === 'string')) return { clean: true, text: joined.join('') };
  return { clean: false, pieces: joined };
}

function joinBoth(c: MergeConflict): string {
  if (!c.mine || !c.theirs) return c.mine + c.theirs;
  const separator = /\s$/.test(c.mine) || /^\s/.test(c.theirs) ? '' : ' ';
  return c.mine + separator + c.theirs;
}

/** Paragraphs: each line with the line ends after it (blank lines included), so joining them gives the text back. */
function lines(text: string): string[] {
  return text.match(/[^\n]+\n*|\n+/g) ?? [];
}

/**
 * Words, each with the spaces after it. (Spaces as tokens of their own let
 * the diff align two insertions at one place differently and keep both.)
 */
function words(text: string): string[] {
  return text.match(/^\s+|\S+\s*/g) ?? [];
}
