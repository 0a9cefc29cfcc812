import type { DocumentKind } from '../vocabulary.ts';
import { STOPWORDS } from './stopwords.ts';
import { runAll, runInSlices, SLICE_CHARS, type Sliced } from './slices.ts';

/**
 * Finds the characters a text mentions, without AI: pure and deterministic,
 * used by autosave (which character sheets a save makes dirty), by the
 * essential package (top characters) and by the full package (whose sheets
 * to write).
 *
 * - Screenplays: a character cue is an uppercase name alone on its line
 *   (optionally with an extension such as `(V.O.)` or `(CONT'D)`), directly
 *   followed by a line of dialogue. Scene headings and transitions are not cues.
 * - Prose: a capitalised word is a name when it recurs (2+ times), appears at
 *   least once away from the start of a sentence, and never appears in lower
 *   case in the same text (so "Storm" at a sentence start is not a name when
 *   "storm" occurs too). Honorifics (`Mr.`, `Dr.`) are skipped.
 *
 * Both rules work on per-text statistics (`nameStats`) that merge by
 * summing, so a document's characters can be computed from stored
 * per-chapter statistics without reading its text again. Over several
 * texts, "in lower case" means in lower case in a text that also has it
 * capitalised.
 */

/** A name and how often the text mentions it. */
export interface CharacterMentions {
  name: string;
  mentions: number;
}

/** Most names one text yields; the rest are the least-mentioned. */
export const MAX_CHARACTERS_PER_TEXT = 20;

const NAME_WORD = /\p{Lu}[\p{Ll}\p{M}]+(?:['’]\p{Ll}+)?/gu;
const SCENE_HEADING = /^(?:INT|EXT|INT\.\/EXT|I\/E|EST)[. ]/;
const NOT_CUES = new Set(['THE END', 'FADE IN', 'FADE OUT', 'CUT TO', 'DISSOLVE TO', 'CONTINUED', 'MORE', 'TITLE', 'SUPER', 'INTERCUT', 'BACK TO SCENE', 'END CREDITS', 'BLACK']);
const HONORIFICS = new Set(['Mr', 'Mrs', 'Ms', 'Miss', 'Dr', 'Prof', 'Sir', 'Lady', 'Lord', 'Captain', 'Capt', 'Saint', 'St']);
/** Capitalised words that are never names, even mid-sentence. */
const NEVER_NAMES = new Set(
  `I I'm I'd I'll I've Chapter Part Book Act Scene Prologue Epilogue Preface Monday Tuesday Wednesday Thursday Friday
  Saturday Sunday January February March April May June July August September October November December God OK Okay`
    .split(/\s+/),
);

/** How one text uses a capitalised word: mergeable across texts by summing (and OR-ing `lower`). */
export interface NameStat {
  name: string;
  /** Occurrences. */
  total: number;
  /** Occurrences away from a sentence start (screenplays: every mention). */
  mid: number;
  /** The word also occurs in lower case. */
  lower: boolean;
}

/**
 * The characters of one text, most mentioned first (ties by name), at most
 * `limit`. Screenplays use cues (plus mentions in action lines); prose uses
 * recurring capitalised names.
 *
 * @example extractCharacters('MARA\nWho is there?\n\nTOMAS\nOnly me.', 'screenplay')
 * // → [{ name: 'Mara', mentions: 1 }, { name: 'Tomas', mentions: 1 }]
 */
export function extractCharacters(text: string, kind: DocumentKind, limit = MAX_CHARACTERS_PER_TEXT): CharacterMentions[] {
  return rankCharacters(nameStats(text, kind), kind, limit);
}

/** `extractCharacters` in slices of a few milliseconds, letting the event loop run between them (the API's autosave). */
export async function extractCharactersInSlices(text: string, kind: DocumentKind, limit = MAX_CHARACTERS_PER_TEXT): Promise<CharacterMentions[]> {
  return rankCharacters(await runInSlices(nameStatsSteps(text, kind)), kind, limit);
}

/**
 * The statistics the character rules need from one text. Prose: every
 * capitalised word but function words, honorifics and calendar words;
 * screenplays: every cue name.
 */
export function nameStats(text: string, kind: DocumentKind): NameStat[] {
  return runAll(nameStatsSteps(text, kind));
}

/** `nameStats` as work that yields every SLICE_CHARS characters or so (see slices.ts). */
export function* nameStatsSteps(text: string, kind: DocumentKind): Sliced<NameStat[]> {
  if (kind === 'screenplay') {
    return [...(yield* screenplayCharacters(text))].map(([name, mentions]) => ({ name, total: mentions, mid: mentions, lower: false }));
  }
  const lowered = yield* lowerCaseWords(text);
  const stats: NameStat[] = [];
  for (const [word, seen] of yield* countNameWords(text)) {
    if (NEVER_NAMES.has(word) || HONORIFICS.has(word) || STOPWORDS.has(word.toLowerCase())) continue;
    stats.push({ name: word, total: seen.total, mid: seen.midSentence, lower: lowered.has(word.toLowerCase()) });
  }
  return stats;
}

/** Sums several texts' statistics name by name. */
export function mergeNameStats(parts: Iterable<readonly NameStat[]>): NameStat[] {
  const merged = new Map<string, NameStat>();
  for (const list of parts) {
    for (const s of list) {
      const m = merged.get(s.name);
      if (m) {
        m.total += s.total;
        m.mid += s.mid;
        m.lower ||= s.lower;
      } else {
        merged.set(s.name, { ...s });
      }
    }
  }
  return [...merged.values()];
}

/** Applies the rules to (merged) statistics: the characters, most mentioned first (ties by name). */
export function rankCharacters(stats: readonly NameStat[], kind: DocumentKind, limit: number): CharacterMentions[] {
  const names = kind === 'screenplay' ? stats : stats.filter((s) => s.total >= 2 && s.mid > 0 && !s.lower);
  return names
    .map((s) => ({ name: s.name, mentions: s.total }))
    .sort((a, b) => b.mentions - a.mentions || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, limit);
}

/** Cue names (title-cased) counted once per cue, plus their title-case mentions in the other lines. */
function* screenplayCharacters(text: string): Sliced<Map<string, number>> {
  const counts = new Map<string, number>();
  // The other lines, joined by `\n` as they come (in groups, so no step joins the whole text).
  const proseGroups: string[] = [];
  let group: string[] = [];
  let groupChars = 0;
  let line: string | undefined;
  let next = 0;
  const readLine = (): string | undefined => {
    if (next > text.length) return undefined;
    const end = text.indexOf('\n', next);
    const stop = end === -1 ? text.length : end;
    const read = text.slice(next, stop);
    next = stop + 1;
    return read;
  };
  for (line = readLine(); line !== undefined; ) {
    const following = readLine();
    const name = cueName(line);
    if (name && isDialogue(following)) {
      counts.set(name, (counts.get(name) ?? 0) + 1);
    } else {
      group.push(line);
      groupChars += line.length + 1;
    }
    if (groupChars >= SLICE_CHARS || following === undefined) {
      proseGroups.push(group.join('\n'));
      group = [];
      groupChars = 0;
      yield;
    }
    line = following;
  }
  if (counts.size === 0) return counts;
  const proseMentions = yield* countNameWords(proseGroups.join('\n'));
  for (const name of counts.keys()) {
    const first = name.split(' ')[0]!;
    counts.set(name, counts.get(name)! + (proseMentions.get(first)?.total ?? 0));
  }
  return counts;
}

function cueName(line: string): string | undefined {
  const name = cueLineName(line);
  if (name === undefined) return undefined;
  const raw = name.replace(/\s+/g, ' ').trim();
  if (SCENE_HEADING.test(raw) || raw.endsWith(':') || NOT_CUES.has(raw.replace(/[.:]$/, '')) || raw.length > 40) return undefined;
  return raw
    .toLowerCase()
    .replace(/(^|[\s.'’-])(\p{Ll})/gu, (_, sep: string, letter: string) => sep + letter.toUpperCase());
}

/** Dialogue: a non-blank line that is neither another cue nor a scene heading. */
function isDialogue(line: string | undefined): boolean {
  if (line === undefined || line.trim() === '') return false;
  const trimmed = line.trim();
  return !SCENE_HEADING.test(trimmed) && !(cueLineName(line) !== undefined && !trimmed.startsWith('('));
}

/**
 * The name of a cue-shaped line, else undefined. The shape: optional spaces
 * or tabs, the name (an uppercase letter, then uppercase letters, marks,
 * spaces, `.`, `'`, `’` or `-`, ending in an uppercase letter and an
 * optional `.`), optional spaces or tabs, an optional `(extension)` without
 * `)` inside, optional spaces or tabs. A scan in one pass: the equivalent
 * regex backtracks quadratically on a long run of spaces.
 */
function cueLineName(line: string): string | undefined {
  let start = 0;
  while (start < line.length && isBlankChar(line.charCodeAt(start))) start++;
  let end = line.length;
  while (end > start && isBlankChar(line.charCodeAt(end - 1))) end--;
  // The name cannot hold `(`, so the first one opens the extension, which must close the line.
  const open = line.indexOf('(', start);
  if (open >= 0) {
    const close = line.indexOf(')', open);
    if (close !== end - 1) return undefined;
    end = open;
    while (end > start && isBlankChar(line.charCodeAt(end - 1))) end--;
  }
  const name = line.slice(start, end);
  const core = name.endsWith('.') ? name.slice(0, -1) : name;
  const last = core.length - (isSurrogatePair(core, core.length - 2) ? 2 : 1);
  if (last <= 0 || !UPPER.test(String.fromCodePoint(core.codePointAt(0)!)) || !UPPER.test(String.fromCodePoint(core.codePointAt(last)!))) {
    return undefined;
  }
  for (let i = 0; i < core.length; i++) {
    const c = core.charCodeAt(i);
    if (c < 0x80) {
      if ((c >= 0x41 && c <= 0x5a) || c === 0x20 || c === 0x2e || c === 0x27 || c === 0x2d) continue;
      return undefined;
    }
    const point = core.codePointAt(i)!;
    if (point > 0xffff) i++;
    if (point !== 0x2019 && !UPPER_OR_MARK.test(String.fromCodePoint(point))) return undefined;
  }
  return name;
}

function isBlankChar(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function isSurrogatePair(text: string, i: number): boolean {
  const high = text.charCodeAt(i);
  const low = text.charCodeAt(i + 1);
  return high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff;
}

const UPPER = /^\p{Lu}$/u;
const UPPER_OR_MARK = /^[\p{Lu}\p{M}]$/u;

interface Seen {
  total: number;
  midSentence: number;
}

/** Every capitalised word with how often it occurs, and how often away from a sentence start. */
function* countNameWords(text: string): Sliced<Map<string, Seen>> {
  const seen = new Map<string, Seen>();
  for (const { start: from, end } of wordSafePieces(text)) {
    for (const match of text.slice(from, end).matchAll(NAME_WORD)) {
      const start = from + match.index;
      // Part of a longer word (camelCase, "McCoy"'s tail) is not a word of its own.
      if (start > 0 && /[\p{L}\p{N}]/u.test(text[start - 1]!)) continue;
      const word = match[0].replace(/['’]s$/u, '');
      const entry = seen.get(word) ?? { total: 0, midSentence: 0 };
      entry.total++;
      if (!startsSentence(text, start)) entry.midSentence++;
      seen.set(word, entry);
    }
    yield;
  }
  return seen;
}

/** Longest run of word characters kept in one piece by `wordSafePieces`; a longer one is cut (it is no name). */
const MAX_WORD_CHARS = 4096;

/**
 * The text in pieces of about SLICE_CHARS characters, cut where a word
 * cannot straddle the cut (the regexes run on a piece at a time: over a whole
 * 10 MiB text one search can take 40 ms, and a run of letters that long
 * overflows the regex engine's stack).
 */
function* wordSafePieces(text: string): Generator<{ start: number; end: number }> {
  for (let start = 0; start < text.length; ) {
    let end = Math.min(text.length, start + SLICE_CHARS);
    const limit = Math.min(text.length, end + MAX_WORD_CHARS);
    while (end < limit && isWordChar(text, end - 1) && isWordChar(text, end)) end++;
    // Never between the halves of a surrogate pair.
    if (end < text.length && isSurrogatePair(text, end - 1)) end++;
    yield { start, end };
    start = end;
  }
}

function isWordChar(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 0x80) return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x27;
  return (c >= 0xd800 && c <= 0xdfff) || c === 0x2019 || WORD_CHAR.test(text[i]!);
}

const WORD_CHAR = /^[\p{L}\p{M}\p{N}]$/u;

/** Whether the word at `start` opens a sentence (text start, after . ! ? … or a blank line, past quotes and brackets). */
function startsSentence(text: string, start: number): boolean {
  let i = start - 1;
  // A gap of more than SENTENCE_GAP_CHARS blanks and quotes counts as a break, so one look-back stays short.
  const floor = start - SENTENCE_GAP_CHARS;
  while (i >= 0 && /["'“‘(\[\s—–-]/u.test(text[i]!)) {
    if ((text[i] === '\n' && i > 0 && text[i - 1] === '\n') || i < floor) return true;
    i--;
  }
  if (i < 0) return true;
  const c = text[i]!;
  if (c === ':' || c === ';') return false;
  if (!/[.!?…]/u.test(c)) return false;
  // "Mr. Darcy": the dot ends an honorific, not a sentence. (A scan back over at most 12 letters.)
  if (c !== '.') return true;
  let k = i;
  while (k > 0 && i - k < 12 && LETTER.test(text[k - 1]!)) k--;
  return !HONORIFICS.has(text.slice(k, i));
}

const SENTENCE_GAP_CHARS = 256;

/** A letter, or half of a surrogate pair (astral scripts' letters). */
const LETTER = /[\p{L}\ud800-\udfff]/u;

function* lowerCaseWords(text: string): Sliced<Set<string>> {
  const words = new Set<string>();
  for (const { start, end } of wordSafePieces(text)) {
    // A piece starts after a non-word character or before one, so the look-behind sees what it would in the whole text.
    for (const match of text.slice(start, end).matchAll(/(?<![\p{L}\p{N}])\p{Ll}[\p{L}\p{M}]*/gu)) words.add(match[0]);
    yield;
  }
  return words;
}
