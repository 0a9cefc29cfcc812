import type { DocumentKind } from '../../domain/vocabulary.ts';
import { mergeNameStats, nameStats, nameStatsSteps, rankCharacters, type CharacterMentions, type NameStat } from '../text/characters.ts';
import type { Sliced } from '../text/slices.ts';

/**
 * The essential package: everything a reader's card needs that stored data
 * alone can give, built in the request without any AI call. Pure.
 */
export interface EssentialPackage {
  stage: 'essential';
  document_id: string;
  title: string;
  kind: DocumentKind;
  word_count: number;
  /** Whole minutes at READING_WORDS_PER_MINUTE, at least 1 for any text. */
  reading_minutes: number;
  chapter_count: number;
  /** Every chapter, in order, with the version the package saw. */
  chapters: { id: string; index: number; title: string; version: number }[];
  /** The opening paragraph, cut at a word near DESCRIPTION_MAX_CHARS. */
  description: string;
  /** The most-mentioned characters, most first. */
  characters: CharacterMentions[];
  built_at: string;
}

/**
 * What the package needs from one chapter's text, computed once per chapter
 * version and stored, so a package request reads no chapter text at all.
 */
export interface ChapterDigest {
  /** The chapter's first paragraph of prose ('' when it has none). */
  opening: string;
  names: NameStat[];
}

/** What the builder reads: the document, its chapters in order, and their digests merged. */
export interface PackageFacts {
  document: { id: string; title: string; kind: DocumentKind };
  chapters: { id: string; index: number; title: string; word_count: number; version: number }[];
  /** The first non-empty chapter opening, in chapter order. */
  opening: string;
  /** The chapters' name statistics, merged. */
  names: NameStat[];
}

/** Average adult silent reading speed (Brysbaert 2019: 238 wpm for non-fiction, 260 for fiction). */
export const READING_WORDS_PER_MINUTE = 238;
/** Longest package description, in characters. */
export const DESCRIPTION_MAX_CHARS = 280;
/** Characters the essential package lists. */
export const TOP_CHARACTERS = 10;

/**
 * Builds the essential package.
 *
 * @example buildEssentialPackage(factsFromTexts({ document, chapters }), new Date())
 */
export function buildEssentialPackage(facts: PackageFacts, now: Date): EssentialPackage {
  const { document, chapters } = facts;
  const wordCount = chapters.reduce((n, c) => n + c.word_count, 0);
  return {
    stage: 'essential',
    document_id: document.id,
    title: document.title,
    kind: document.kind,
    word_count: wordCount,
    reading_minutes: wordCount === 0 ? 0 : Math.max(1, Math.round(wordCount / READING_WORDS_PER_MINUTE)),
    chapter_count: chapters.length,
    chapters: chapters.map((c) => ({ id: c.id, index: c.index, title: c.title, version: c.version })),
    description: capAtWord(facts.opening, DESCRIPTION_MAX_CHARS),
    characters: rankCharacters(facts.names, document.kind, TOP_CHARACTERS),
    built_at: now.toISOString(),
  };
}

/** One chapter's digest. */
export function digestChapter(content: string, kind: DocumentKind): ChapterDigest {
  return { opening: openingParagraph(content), names: nameStats(content, kind) };
}

/** `digestChapter` as work that yields every few thousand characters (see slices.ts): one huge chapter is not one step. */
export function* digestChapterSteps(content: string, kind: DocumentKind): Sliced<ChapterDigest> {
  const opening = openingParagraph(content);
  return { opening, names: yield* nameStatsSteps(content, kind) };
}

/** The facts from chapter texts in memory (what the stored digests give, computed on the spot). */
export function factsFromTexts(source: {
  document: PackageFacts['document'];
  chapters: (PackageFacts['chapters'][number] & { content: string })[];
}): PackageFacts {
  const digests = source.chapters.map((c) => digestChapter(c.content, source.document.kind));
  return {
    document: source.document,
    chapters: source.chapters,
    opening: digests.find((d) => d.opening !== '')?.opening ?? '',
    names: mergeNameStats(digests.map((d) => d.names)),
  };
}

/** The document's characters from chapter texts, most mentioned first. */
export function topCharacters(contents: string[], kind: DocumentKind, limit = TOP_CHARACTERS): CharacterMentions[] {
  return rankCharacters(mergeNameStats(contents.map((c) => nameStats(c, kind))), kind, limit);
}

/**
 * A text's first paragraph of prose: skips headings, scene headings,
 * all-caps lines (cues, transitions) and blank lines; whitespace collapsed;
 * at most OPENING_MAX_CHARS (stored per chapter, cut again for the package).
 */
export function openingParagraph(content: string): string {
  // Paragraph by paragraph as needed, not `split` (which would cut a 10 MiB text into millions first).
  const breaks = /\n[ \t]*\n/g;
  for (let start = 0; ; ) {
    const found = breaks.exec(content);
    const paragraph = content.slice(start, found ? found.index : content.length);
    const lines = paragraph.split('\n').filter((line) => isProseLine(line));
    const text = lines.join(' ').replace(/\s+/g, ' ').trim();
    if (/\p{Ll}/u.test(text)) return capAtWord(text, OPENING_MAX_CHARS);
    if (!found) return '';
    start = breaks.lastIndex;
  }
}

const OPENING_MAX_CHARS = 1000;

function isProseLine(line: string): boolean {
  const t = line.trim();
  if (t === '' || /^#{1,6}\s/.test(t) || /^(?:INT|EXT|INT\.\/EXT|I\/E)[. ]/.test(t)) return false;
  // A line without any lower-case letter is a cue, a transition or a title.
  return /\p{Ll}/u.test(t);
}

/** Cuts at the last space before `max` and marks the cut with `…`. */
export function capAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const space = text.lastIndexOf(' ', max - 1);
  const cut = space > max / 2 ? space : max - 1;
  // A scan back, not /[\s,;:—–-]+$/: that regex is quadratic on a long run of such characters.
  let end = cut;
  while (end > 0 && (WHITESPACE.test(text[end - 1]!) || ',;:—–-'.includes(text[end - 1]!))) end--;
  return `${text.slice(0, end)}…`;
}

const WHITESPACE = /\s/;
