import { diff3Merge, diffIndices } from 'node-diff3';

/** One passage both writers changed, differently: each side's text and the text they started from. */
export interface MergeConflict {
  mine: string;
  theirs: string;
  base: string;
}

/** The merged text as pieces: agreed text, and the passages the writer must choose between. */
export type MergePiece = string | MergeConflict;

export type MergeOutcome = { clean: true; text: string } | { clean: false; pieces: MergePiece[] };

/** Above this many words in one changed passage, it is not merged word by word (the diff grows with the square). */
const MAX_WORD_TOKENS = 20_000;

/**
 * Three-way merge of chapter text: `base` is the text both writers started
 * from, `mine` and `theirs` what each made of it. Paragraphs (lines) are
 * merged first, which keeps a long chapter cheap; a paragraph both changed is
 * merged again word by word, so two writers editing different sentences of
 * one paragraph still merge cleanly. What both changed in the same words is a
 * conflict. Identical changes on both sides are not conflicts.
 */
export function mergeText(base: string, mine: string, theirs: string): MergeOutcome {
  if (mine === theirs || theirs === base) return { clean: true, text: mine };
  if (mine === base) return { clean: true, text: theirs };
  const pieces: MergePiece[] = [];
  for (const region of diff3Merge(lines(mine), lines(base), lines(theirs))) {
    if (region.ok) pieces.push(region.ok.join(''));
    else if (region.conflict) pieces.push(...mergeWords(region.conflict.o.join(''), region.conflict.a.join(''), region.conflict.b.join('')));
  }
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
 * Where a caret at `position` in `before` belongs in `after`: unchanged
 * paragraphs carry it along; inside a changed passage it keeps its distance
 * from the passage's start, or stays at its end when the passage shrank.
 */
export function mapCaret(before: string, after: string, position: number): number {
  if (before === after) return position;
  const a = lines(before);
  const b = lines(after);
  let offsetA = 0;
  let offsetB = 0;
  let indexA = 0;
  for (const hunk of diffIndices(a, b)) {
    const [startA, lengthA] = hunk.buffer1;
    // Unchanged lines up to the hunk.
    const plain = sumLengths(a, indexA, startA);
    if (position < offsetA + plain) return offsetB + (position - offsetA);
    offsetA += plain;
    offsetB += plain;
    const changedA = sumLengths(a, startA, startA + lengthA);
    const changedB = hunk.buffer2Content.reduce((n, l) => n + l.length, 0);
    if (position < offsetA + changedA) return offsetB + Math.min(position - offsetA, changedB);
    offsetA += changedA;
    offsetB += changedB;
    indexA = startA + lengthA;
  }
  return Math.min(offsetB + (position - offsetA), after.length);
}

function mergeWords(base: string, mine: string, theirs: string): MergePiece[] {
  const o = words(base);
  const a = words(mine);
  const b = words(theirs);
  if (o.length + a.length + b.length > MAX_WORD_TOKENS) return [{ mine, theirs, base }];
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

/** Lines with their line ends, so joining them gives the text back. */
function lines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** Words and the spaces between them, as separate tokens. */
function words(text: string): string[] {
  return text.match(/\s+|[^\s]+/g) ?? [];
}

function sumLengths(list: string[], from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n += list[i]!.length;
  return n;
}
