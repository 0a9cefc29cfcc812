import { setTimeout as sleep } from 'node:timers/promises';
import type { AiCallOptions, AiProvider } from './provider.ts';
import { l2Normalize } from '../../domain/similarity.ts';
import { STOPWORDS } from '../../domain/text/stopwords.ts';

/** Options of the offline provider. */
export interface BuiltinProviderOptions {
  /** Delay added to every call, standing in for a real model's latency. Default 0. */
  simulatedLatencyMs?: number;
  /** Embedding length. Default 256. */
  dimensions?: number;
}

/** Longest summary, in characters. */
export const SUMMARY_MAX_CHARS = 600;
const SUMMARY_RATIO = 0.2;
const SUMMARY_MAX_SENTENCES = 5;
/** Pseudo-words added to each sentence's length when averaging: a three-word sentence needs real evidence to win. */
const SCORE_SMOOTHING = 3;
/** The first sentence gets up to this much extra score, fading to none at the end. */
const POSITION_BONUS = 0.15;
const BIGRAM_WEIGHT = 0.5;
const DEFAULT_DIMENSIONS = 256;

const NON_ASCII_WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;
const WHITESPACE_RUN = /\s+/g;

const ABBREVIATIONS = new Set(
  'mr mrs ms dr prof st jr sr vs e.g i.e mt capt col gen lt sgt rev fig'.split(' '),
);

interface Range {
  start: number;
  end: number;
}

/**
 * The offline provider: extractive summaries and hashed bag-of-words
 * embeddings, deterministic across runs and processes, no network.
 */
export function createBuiltinProvider(options: BuiltinProviderOptions = {}): AiProvider {
  const latencyMs = options.simulatedLatencyMs ?? 0;
  const dimensions = options.dimensions ?? DEFAULT_DIMENSIONS;
  if (!Number.isInteger(dimensions) || dimensions < 1) {
    throw new RangeError(`dimensions must be a positive integer, got ${dimensions}`);
  }
  return {
    name: 'builtin',
    async summarize(text: string, callOptions?: AiCallOptions) {
      await simulateLatency(latencyMs, callOptions?.signal);
      return summarizeText(text);
    },
    async embed(text: string, callOptions?: AiCallOptions) {
      await simulateLatency(latencyMs, callOptions?.signal);
      return embedText(text, dimensions);
    },
  };
}

async function simulateLatency(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) throw abortError(signal);
  if (ms <= 0) return;
  // timers/promises rejects with an AbortError (code ABORT_ERR) when the signal fires.
  await sleep(ms, undefined, signal ? { signal } : {});
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The AI call was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

/**
 * Extractive summary: scores each sentence by how frequent its content words
 * are across the text (averaged, so length alone does not win, with a small
 * bonus for coming early), keeps the best ~20% (1 to 5) in their original
 * order, at most SUMMARY_MAX_CHARS characters. Empty text gives ''.
 */
export function summarizeText(text: string): string {
  const sentences = splitSentences(text);
  if (sentences.length === 0) return '';
  const scores = scoreSentences(text, sentences);
  const wanted = Math.min(SUMMARY_MAX_SENTENCES, Math.max(1, Math.round(sentences.length * SUMMARY_RATIO)));
  const ranked = sentences.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const chosen: { index: number; text: string }[] = [];
  let length = 0;
  for (const index of ranked) {
    if (chosen.length === wanted) break;
    const sentence = text.slice(sentences[index]!.start, sentences[index]!.end).replace(WHITESPACE_RUN, ' ');
    // Skip a repeated sentence, or one that would overflow the cap unless nothing is chosen yet.
    if (chosen.some((c) => c.text === sentence)) continue;
    if (chosen.length > 0 && length + 1 + sentence.length > SUMMARY_MAX_CHARS) continue;
    chosen.push({ index, text: sentence });
    length += sentence.length + 1;
  }
  chosen.sort((a, b) => a.index - b.index);
  return capAtWord(chosen.map((c) => c.text).join(' '), SUMMARY_MAX_CHARS);
}

function scoreSentences(text: string, sentences: Range[]): number[] {
  const perSentence = sentences.map((range) => words(text, range.start, range.end).filter(isContentWord));
  const frequency = new Map<string, number>();
  let maxFrequency = 1;
  for (const list of perSentence) {
    for (const word of list) {
      const count = (frequency.get(word) ?? 0) + 1;
      frequency.set(word, count);
      if (count > maxFrequency) maxFrequency = count;
    }
  }
  const n = sentences.length;
  return perSentence.map((list, i) => {
    let sum = 0;
    for (const word of list) sum += frequency.get(word)! / maxFrequency;
    return (sum / (list.length + SCORE_SMOOTHING)) * (1 + POSITION_BONUS * (1 - i / n));
  });
}

/**
 * Sentences end at `.`, `!`, `?` or `…` (plus closing quotes/brackets) before
 * whitespace, or at a blank line; `Mr.`-style abbreviations and initials do not end one.
 */
function splitSentences(text: string): Range[] {
  const sentences: Range[] = [];
  const n = text.length;
  let start = skipSpace(text, 0);
  for (let i = start; i < n; i++) {
    const c = text.charCodeAt(i);
    let end = -1;
    if (c === 0x0a) {
      let j = i + 1;
      while (j < n && text.charCodeAt(j) !== 0x0a && isSpace(text.charCodeAt(j))) j++;
      if (j >= n || text.charCodeAt(j) === 0x0a) end = i;
    } else if (isTerminator(c)) {
      let j = i + 1;
      while (j < n && (isTerminator(text.charCodeAt(j)) || isCloser(text.charCodeAt(j)))) j++;
      if (j < n && !isSpace(text.charCodeAt(j))) i = j - 1;
      else if (!(c === 0x2e && j === i + 1 && isAbbreviation(text, start, i))) end = j;
    }
    if (end < 0) continue;
    let last = end;
    while (last > start && isSpace(text.charCodeAt(last - 1))) last--;
    if (last > start) sentences.push({ start, end: last });
    start = skipSpace(text, end);
    i = start - 1;
  }
  if (start < n) {
    let last = n;
    while (last > start && isSpace(text.charCodeAt(last - 1))) last--;
    if (last > start) sentences.push({ start, end: last });
  }
  return sentences;
}

/** Whether the word ending at the `.` at `dot` is an abbreviation or an initial (`J.`). */
function isAbbreviation(text: string, sentenceStart: number, dot: number): boolean {
  let k = dot;
  while (k > sentenceStart && dot - k < 12 && !isSpace(text.charCodeAt(k - 1))) k--;
  while (k < dot && !isWordChar(text.charCodeAt(k))) k++;
  const token = text.slice(k, dot);
  if (token.length === 1) return token !== token.toLowerCase();
  return ABBREVIATIONS.has(token.toLowerCase());
}

/**
 * Hashed bag of words: each lower-cased content word (unigram, weight 1) and
 * each pair of neighbouring content words (bigram, weight 0.5) is hashed with
 * FNV-1a 32-bit over its UTF-16 code units into one of `dimensions` buckets,
 * the hash's top bit choosing the sign; the result is L2-normalised. Text of
 * stopwords only falls back to all its words. Empty text gives a zero vector
 * of length `dimensions` (it has no direction to normalise).
 */
export function embedText(text: string, dimensions = DEFAULT_DIMENSIONS): number[] {
  const all = words(text, 0, text.length);
  const content = all.filter(isContentWord);
  const tokens = content.length > 0 ? content : all;
  const vector = new Float64Array(dimensions);
  let previous = 0;
  for (let i = 0; i < tokens.length; i++) {
    const hash = fnv1a(FNV_OFFSET, tokens[i]!);
    addFeature(vector, hash, 1);
    if (i > 0) addFeature(vector, fnv1a(Math.imul(previous ^ 0x20, FNV_PRIME) >>> 0, tokens[i]!), BIGRAM_WEIGHT);
    previous = hash;
  }
  return l2Normalize(vector);
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over UTF-16 code units, continuing from `hash` (so `fnv1a(fnv1a(h, "a "), "b")` = `fnv1a(h, "a b")`). */
function fnv1a(hash: number, value: string): number {
  let h = hash;
  for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), FNV_PRIME) >>> 0;
  return h;
}

function addFeature(vector: Float64Array, hash: number, weight: number): void {
  const bucket = (hash & 0x7fffffff) % vector.length;
  vector[bucket]! += hash & 0x80000000 ? -weight : weight;
}

/** Lower-cased runs of letters, digits and marks in text[start, end). */
function words(text: string, start: number, end: number): string[] {
  const found: string[] = [];
  let wordStart = -1;
  for (let i = start; i <= end; i++) {
    const inWord = i < end && isWordChar(text.charCodeAt(i));
    if (inWord && wordStart < 0) wordStart = i;
    else if (!inWord && wordStart >= 0) {
      found.push(text.slice(wordStart, i).toLowerCase());
      wordStart = -1;
    }
  }
  return found;
}

function isContentWord(word: string): boolean {
  return word.length > 1 && !STOPWORDS.has(word);
}

function isWordChar(c: number): boolean {
  if (c < 0x80) return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
  // Surrogate halves count as letters: astral-plane scripts stay words.
  if (c >= 0xd800 && c <= 0xdfff) return true;
  return NON_ASCII_WORD_CHAR.test(String.fromCharCode(c));
}

function isTerminator(c: number): boolean {
  return c === 0x2e || c === 0x21 || c === 0x3f || c === 0x2026;
}

/** Closing quotes and brackets that may follow a sentence's end: " ' ) ] ” ’ ». */
function isCloser(c: number): boolean {
  return c === 0x22 || c === 0x27 || c === 0x29 || c === 0x5d || c === 0x201d || c === 0x2019 || c === 0xbb;
}

function isSpace(c: number): boolean {
  return c <= 0x20 || c === 0xa0 || c === 0x2028 || c === 0x2029 || c === 0x3000 || (c >= 0x2000 && c <= 0x200a);
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** Cuts at the last space before `max` and marks the cut with `…`; the result is at most `max` characters. */
function capAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const space = text.lastIndexOf(' ', max - 1);
  const cut = space > max / 2 ? space : max - 1;
  return `${text.slice(0, cut).trimEnd()}…`;
}
