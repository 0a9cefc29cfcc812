/**
 * Splits an uploaded manuscript into chapters (CONTRACT.md §4 "Chapter splitting").
 * Pure and linear: one pass over the lines with `indexOf` and char-code checks,
 * no regex that could backtrack on hostile input. The work yields every
 * SLICE_CHARS characters, so the API can split a 10 MiB upload in slices
 * (`splitChaptersInSlices`) without freezing its event loop.
 */
import type { DocumentKind } from '../vocabulary.ts';
import { runAll, runInSlices, SLICE_CHARS, type Sliced } from './slices.ts';

/** One chapter cut from a manuscript, in upload order. */
export interface SplitChapter {
  /** 0-based, consecutive. */
  index: number;
  /** The heading line (Markdown `#`s stripped), `Preface`, or `Part N` for unheaded text; at most TITLE_MAX_CHARS. */
  title: string;
  /** Text after the heading up to the next one, leading/trailing blank lines trimmed. */
  content: string;
  wordCount: number;
}


export interface SplitOptions {
  /**
   * Most chapters wanted. A manuscript with more gives `limit + 1` chapters
   * and the work stops there (the last one's content is not complete): enough
   * to refuse it without splitting everything. Default: no limit.
   */
  limit?: number;
}

/** Longest chapter title: a longer heading line is cut. */
export const TITLE_MAX_CHARS = 500;

/** Words per part when a manuscript has no headings at all. */
const PART_TARGET_WORDS = 2000;
/** A paragraph longer than this is cut at sentence ends instead of kept whole. */
const PARAGRAPH_MAX_WORDS = 4000;
/** Paragraphs packParts handles between two yields (about a millisecond of work). */
export const PARAGRAPHS_PER_STEP = 512;

const WORD_START = /^[\p{L}\p{N}]/u;
/** Bytes of UTF-16 read back into one string at a time by normaliseNewlines (a millisecond or two). */
const DECODE_PIECE_BYTES = 1 << 20;
const SCENE_PREFIXES = ['INT.', 'EXT.', 'I/E.'] as const; // `INT./EXT.` starts with `INT.`

interface Range {
  start: number;
  end: number;
}

interface Section {
  title: string;
  /** From the first non-blank content line's start to the last one's end; start is -1 while there is none. */
  content: Range;
}

/**
 * Splits `content` into chapters. Empty or whitespace-only content gives `[]`.
 *
 * @example splitChapters('# One\nHello.\n# Two\nBye.', 'book')
 * // → [{index:0,title:'One',content:'Hello.',wordCount:1}, {index:1,title:'Two',content:'Bye.',wordCount:1}]
 */
export function splitChapters(content: string, kind: DocumentKind, options: SplitOptions = {}): SplitChapter[] {
  return runAll(splitSteps(content, kind, options.limit ?? Infinity));
}

/** `splitChapters` in slices of a few milliseconds, letting the event loop run between them. */
export function splitChaptersInSlices(content: string, kind: DocumentKind, options: SplitOptions = {}): Promise<SplitChapter[]> {
  return runInSlices(splitChapterSteps(content, kind, options));
}

/** `splitChapters` as work that yields every SLICE_CHARS characters or PARAGRAPHS_PER_STEP paragraphs (see slices.ts). */
export function splitChapterSteps(content: string, kind: DocumentKind, options: SplitOptions = {}): Sliced<SplitChapter[]> {
  return splitSteps(content, kind, options.limit ?? Infinity);
}

function* splitSteps(content: string, kind: DocumentKind, limit: number): Sliced<SplitChapter[]> {
  const text = yield* normaliseNewlines(content);
  const { sections, preface } = yield* scanLines(text, kind, limit);
  // No headings: parts of about PART_TARGET_WORDS, from the first non-blank line to the last (none: no chapters).
  const chapters = sections.length > 0 || preface.start < 0 ? sections : yield* packParts(text, preface, limit);
  const split: SplitChapter[] = [];
  let counted = 0;
  for (const { title, content: { start, end } } of chapters) {
    const body = start >= 0 ? text.slice(start, end) : '';
    split.push({ index: split.length, title, content: body, wordCount: start >= 0 ? yield* countWordsSliced(text, start, end) : 0 });
    // 10,000 short chapters are 10 MiB to count too: a yield every SLICE_CHARS, across chapters as within one.
    counted += end - start;
    if (counted >= SLICE_CHARS) {
      counted = 0;
      yield;
    }
  }
  return split;
}

/**
 * `\r\n` and lone `\r` as `\n`, SLICE_CHARS at a time. The characters are
 * copied into one UTF-16 buffer and read back as strings in large pieces:
 * regex replaces over 10 MiB of `\r\n` (a match every two characters) and
 * the join of their results held the event loop for hundreds of milliseconds.
 * Decoding UTF-16 keeps lone surrogates as they are.
 */
function* normaliseNewlines(content: string): Sliced<string> {
  if (!content.includes('\r')) return content;
  const units = new Uint16Array(content.length);
  let length = 0;
  for (let i = 0; i < content.length; ) {
    // A `\r\n` across the slice's end is still one newline: `i` steps past its `\n`.
    for (const end = Math.min(content.length, i + SLICE_CHARS); i < end; i++) {
      const c = content.charCodeAt(i);
      if (c !== 0x0d) units[length++] = c;
      else {
        units[length++] = 0x0a;
        if (content.charCodeAt(i + 1) === 0x0a) i++;
      }
    }
    yield;
  }
  const bytes = Buffer.from(units.buffer, 0, length * 2);
  const pieces: string[] = [];
  for (let start = 0; start < bytes.length; start += DECODE_PIECE_BYTES) {
    pieces.push(bytes.toString('utf16le', start, Math.min(bytes.length, start + DECODE_PIECE_BYTES)));
    yield;
  }
  return pieces.join('');
}

/**
 * Counts words as runs of non-whitespace characters (what word processors show).
 *
 * @example countWords('  It was a dark — and stormy night. ') // → 8
 */
export function countWords(text: string): number {
  return countWordsIn(text, 0, text.length);
}

function countWordsIn(text: string, start: number, end: number): number {
  return runAll(countWordsSliced(text, start, end));
}

function* countWordsSliced(text: string, start: number, end: number): Sliced<number> {
  let words = 0;
  let inWord = false;
  for (let sliceEnd = Math.min(end, start + SLICE_CHARS); ; sliceEnd = Math.min(end, sliceEnd + SLICE_CHARS)) {
    for (let i = start; i < sliceEnd; i++) {
      const c = text.charCodeAt(i);
      // Inline fast path for printable ASCII: this loop sees every character of the upload.
      const space = c > 0x20 && c < 0x7f ? false : isSpace(c);
      if (!space && !inWord) words++;
      inWord = !space;
    }
    if (sliceEnd >= end) return words;
    start = sliceEnd;
    yield;
  }
}

/**
 * One pass over the lines: builds the headed sections (plus a Preface for
 * text before the first heading), and gives the range of that text (start
 * -1: none). Stops at the first section past `limit`. A level-1 heading on
 * the first non-blank line, followed by nothing but a level-2 heading, is the
 * manuscript's title rather than a chapter (`# Book\n\n## One ...`): it is
 * dropped once that level-2 heading shows it has no text of its own.
 */
function* scanLines(text: string, kind: DocumentKind, limit: number): Sliced<{ sections: Section[]; preface: Range }> {
  const preface: Section = { title: 'Preface', content: { start: -1, end: -1 } };
  const sections: Section[] = [];
  let current = preface;
  // The first section, when it is a level-1 heading on the first non-blank line: maybe the manuscript's title.
  let titleCandidate: Section | undefined;
  let nextYield = SLICE_CHARS;
  for (let lineStart = 0; lineStart <= text.length; ) {
    if (lineStart >= nextYield) {
      yield;
      nextYield = lineStart + SLICE_CHARS;
    }
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    const title = lineEnd > lineStart ? headingTitle(text, lineStart, lineEnd, kind) : undefined;
    if (title !== undefined) {
      const level = markdownLevel(text, lineStart);
      if (level === 2 && sections.length === 1 && titleCandidate !== undefined && sections[0] === titleCandidate && titleCandidate.content.start < 0) sections.pop();
      current = { title, content: { start: -1, end: -1 } };
      if (level === 1 && sections.length === 0 && preface.content.start < 0) titleCandidate = current;
      sections.push(current);
      if (sections.length + (preface.content.start >= 0 ? 1 : 0) > limit) break;
    } else if (!isBlank(text, lineStart, lineEnd)) {
      if (current.content.start < 0) current.content.start = lineStart;
      current.content.end = lineEnd;
    }
    lineStart = lineEnd + 1;
  }
  if (sections.length > 0 && preface.content.start >= 0) sections.unshift(preface);
  return { sections, preface: preface.content };
}

/**
 * The next paragraph (a run of non-blank lines) from `from` up to `to`, or
 * undefined past the last. A second pass over a text without headings,
 * rather than a list kept by scanLines: 10 MiB of one-word paragraphs is
 * millions of them, and one growing array of millions held the event loop
 * for hundreds of milliseconds each time it was copied to grow.
 */
function* nextParagraph(text: string, from: number, to: number): Sliced<Range | undefined> {
  let paragraph: Range | undefined;
  let nextYield = from + SLICE_CHARS;
  for (let lineStart = from; lineStart < to; ) {
    if (lineStart >= nextYield) {
      yield;
      nextYield = lineStart + SLICE_CHARS;
    }
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    if (!isBlank(text, lineStart, lineEnd)) paragraph = paragraph ? { start: paragraph.start, end: lineEnd } : { start: lineStart, end: lineEnd };
    else if (paragraph) return paragraph;
    lineStart = lineEnd + 1;
  }
  return paragraph;
}

/** 1 for a line starting `# `, 2 for `## `, 0 otherwise (only asked of lines that are headings). */
function markdownLevel(text: string, start: number): number {
  if (text.charCodeAt(start) !== 0x23) return 0;
  return text.charCodeAt(start + 1) === 0x23 ? 2 : 1;
}

/** The chapter title (at most TITLE_MAX_CHARS) if the line starts a chapter, else undefined. */
function headingTitle(text: string, start: number, end: number, kind: DocumentKind): string | undefined {
  const first = text.charCodeAt(start);
  if (first === 0x23 /* # */) return capTitle(markdownTitle(text, start, end));
  if (text.startsWith('Chapter ', start) || text.startsWith('CHAPTER ', start)) {
    let i = start + 8;
    while (i < end && text.charCodeAt(i) === 0x20) i++;
    return i < end && WORD_START.test(text.slice(i, i + 2)) ? capTitle(text.slice(start, end).trim()) : undefined;
  }
  if (kind === 'screenplay' && SCENE_PREFIXES.some((prefix) => text.startsWith(prefix, start))) {
    return capTitle(text.slice(start, end).trim());
  }
  return undefined;
}

/** The first TITLE_MAX_CHARS characters, never half a surrogate pair, without trailing spaces. */
function capTitle(title: string | undefined): string | undefined {
  if (title === undefined || title.length <= TITLE_MAX_CHARS) return title;
  const c = title.charCodeAt(TITLE_MAX_CHARS - 1);
  return title.slice(0, c >= 0xd800 && c <= 0xdbff ? TITLE_MAX_CHARS - 1 : TITLE_MAX_CHARS).trimEnd();
}

/** `# Title` or `## Title` (an optional closing `#` run is dropped); `###` and deeper do not split. */
function markdownTitle(text: string, start: number, end: number): string | undefined {
  let i = start;
  while (i < end && i - start < 3 && text.charCodeAt(i) === 0x23) i++;
  const level = i - start;
  if (level > 2 || i >= end || !isSpace(text.charCodeAt(i))) return undefined;
  let titleEnd = end;
  while (titleEnd > i && isSpace(text.charCodeAt(titleEnd - 1))) titleEnd--;
  let hashes = titleEnd;
  while (hashes > i && text.charCodeAt(hashes - 1) === 0x23) hashes--;
  if (hashes < titleEnd && isSpace(text.charCodeAt(hashes - 1))) titleEnd = hashes;
  const title = text.slice(i, titleEnd).trim();
  return title === '' ? undefined : title;
}

/**
 * Groups paragraphs into parts of about PART_TARGET_WORDS: a paragraph joins
 * the current part unless that would overshoot the target by more than
 * stopping short of it does. Oversized paragraphs arrive as sentence runs.
 */
function* packParts(text: string, within: Range, limit: number): Sliced<Section[]> {
  const parts: Section[] = [];
  let part: Range | undefined;
  let words = 0;
  const close = () => {
    if (part) parts.push({ title: `Part ${parts.length + 1}`, content: part });
    part = undefined;
    words = 0;
  };
  let yieldedAt = within.start;
  let paragraphs = 0;
  for (
    let paragraph = yield* nextParagraph(text, within.start, within.end);
    paragraph;
    paragraph = yield* nextParagraph(text, paragraph.end + 1, within.end)
  ) {
    for (const unit of yield* splitOversized(text, paragraph)) {
      const unitWords = yield* countWordsSliced(text, unit.start, unit.end);
      if (part && words + unitWords - PART_TARGET_WORDS > PART_TARGET_WORDS - words) close();
      part = part ? { start: part.start, end: unit.end } : { ...unit };
      words += unitWords;
      if (words >= PART_TARGET_WORDS) close();
      if (parts.length > limit) return parts;
    }
    // By position, so the blank lines between paragraphs count too, and by count: each paragraph costs a few
    // generators, and SLICE_CHARS of one-word paragraphs is ten thousand of them.
    if (paragraph.end - yieldedAt >= SLICE_CHARS || ++paragraphs >= PARAGRAPHS_PER_STEP) {
      yieldedAt = paragraph.end;
      paragraphs = 0;
      yield;
    }
  }
  close();
  return parts;
}

/**
 * A paragraph over PARAGRAPH_MAX_WORDS becomes pieces of about
 * PART_TARGET_WORDS cut after sentence ends; text with no sentence end for
 * PARAGRAPH_MAX_WORDS words is cut at a word, so no part is enormous.
 */
function* splitOversized(text: string, paragraph: Range): Sliced<Range[]> {
  if ((yield* countWordsSliced(text, paragraph.start, paragraph.end)) <= PARAGRAPH_MAX_WORDS) return [paragraph];
  const pieces: Range[] = [];
  let pieceStart = paragraph.start;
  let words = 0;
  let lastSentenceEnd = -1;
  let wordsAtSentenceEnd = 0;
  let nextYield = paragraph.start + SLICE_CHARS;
  for (let i = paragraph.start; i < paragraph.end; ) {
    if (i >= nextYield) {
      yield;
      nextYield = i + SLICE_CHARS;
    }
    while (i < paragraph.end && isSpace(text.charCodeAt(i))) i++;
    if (i >= paragraph.end) break;
    if (words === 0) pieceStart = i;
    while (i < paragraph.end && !isSpace(text.charCodeAt(i))) i++;
    words++;
    if (endsSentence(text, i)) {
      if (words >= PART_TARGET_WORDS) {
        pieces.push({ start: pieceStart, end: i });
        words = 0;
        lastSentenceEnd = -1;
        continue;
      }
      lastSentenceEnd = i;
      wordsAtSentenceEnd = words;
    }
    if (words >= PARAGRAPH_MAX_WORDS) {
      const cut = lastSentenceEnd > 0 ? lastSentenceEnd : i;
      pieces.push({ start: pieceStart, end: cut });
      words = cut === i ? 0 : words - wordsAtSentenceEnd;
      pieceStart = cut === i ? i : nextNonSpace(text, cut);
      lastSentenceEnd = -1;
    }
  }
  if (words > 0) pieces.push({ start: pieceStart, end: paragraph.end });
  return pieces;
}

/** True when the word ending at `end` closes a sentence: `.`, `!`, `?` or `…`, maybe followed by quotes/brackets. */
function endsSentence(text: string, end: number): boolean {
  let i = end - 1;
  while (i > 0 && isCloser(text.charCodeAt(i))) i--;
  const c = text.charCodeAt(i);
  return c === 0x2e || c === 0x21 || c === 0x3f || c === 0x2026;
}

function isCloser(c: number): boolean {
  // " ' ) ] ” ’ » 
  return c === 0x22 || c === 0x27 || c === 0x29 || c === 0x5d || c === 0x201d || c === 0x2019 || c === 0xbb;
}

function nextNonSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isSpace(text.charCodeAt(i))) return false;
  return true;
}

/** ASCII whitespace and controls plus the Unicode space separators (NBSP, em space, BOM…). */
function isSpace(c: number): boolean {
  if (c <= 0x20) return true;
  if (c < 0xa0) return false;
  return (
    c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}
