import { extractCharacters, mergeMentions, type CharacterMentions, type TextKind } from '../text/characters.ts';

/**
 * The essential package: everything a reader's card needs that stored data
 * alone can give, built in the request without any AI call. Pure.
 */
export interface EssentialPackage {
  stage: 'essential';
  document_id: string;
  title: string;
  kind: TextKind;
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

/** What the builder reads: the document and its chapters, in order. */
export interface PackageSource {
  document: { id: string; title: string; kind: TextKind };
  chapters: { id: string; index: number; title: string; content: string; word_count: number; version: number }[];
}

/** Average adult silent reading speed (Brysbaert 2019: 238 wpm for non-fiction, 260 for fiction). */
export const READING_WORDS_PER_MINUTE = 238;
export const DESCRIPTION_MAX_CHARS = 280;
export const TOP_CHARACTERS = 10;

/**
 * Builds the essential package.
 *
 * @example buildEssentialPackage({ document: { id, title: 'T', kind: 'book' }, chapters: [...] }, new Date())
 */
export function buildEssentialPackage(source: PackageSource, now: Date): EssentialPackage {
  const { document, chapters } = source;
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
    description: openingParagraph(chapters.map((c) => c.content)),
    characters: topCharacters(chapters.map((c) => c.content), document.kind),
    built_at: now.toISOString(),
  };
}

/**
 * The document's characters, most mentioned first. Screenplay cues are found
 * per chapter (a cue is local); prose names are judged over the whole text,
 * so a name that recurs across chapters counts even if once per chapter.
 */
export function topCharacters(contents: string[], kind: TextKind, limit = TOP_CHARACTERS): CharacterMentions[] {
  if (kind === 'screenplay') return mergeMentions(contents.map((c) => extractCharacters(c, kind, Infinity)), limit);
  return extractCharacters(contents.join('\n\n'), kind, limit);
}

/**
 * The first paragraph of prose: skips headings, scene headings, all-caps
 * lines (cues, transitions) and blank lines; whitespace collapsed.
 */
export function openingParagraph(contents: string[], maxChars = DESCRIPTION_MAX_CHARS): string {
  for (const content of contents) {
    for (const paragraph of content.split(/\n[ \t]*\n/)) {
      const lines = paragraph.split('\n').filter((line) => isProseLine(line));
      const text = lines.join(' ').replace(/\s+/g, ' ').trim();
      if (/\p{Ll}/u.test(text)) return capAtWord(text, maxChars);
    }
  }
  return '';
}

function isProseLine(line: string): boolean {
  const t = line.trim();
  if (t === '' || /^#{1,6}\s/.test(t) || /^(?:INT|EXT|INT\.\/EXT|I\/E)[. ]/.test(t)) return false;
  // A line without any lower-case letter is a cue, a transition or a title.
  return /\p{Ll}/u.test(t);
}

/** Cuts at the last space before `max` and marks the cut with `…`. */
function capAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const space = text.lastIndexOf(' ', max - 1);
  const cut = space > max / 2 ? space : max - 1;
  return `${text.slice(0, cut).replace(/[\s,;:—–-]+$/u, '')}…`;
}
