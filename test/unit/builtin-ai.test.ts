import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SUMMARY_MAX_CHARS, createBuiltinProvider, embedText, summarizeText } from '../../jobs/ai/builtin.ts';
import { cosineSimilarity } from '../../domain/similarity.ts';

const FILLER = [
  'Morning light crept across the quiet kitchen table.',
  'Her grandmother hummed an old tune while kneading bread.',
  'A neighbour waved from behind the garden fence.',
  "Somewhere a radio played yesterday's football results.",
  'Buses rumbled past the bakery on Elm Street.',
  'Children argued cheerfully about marbles and kites.',
  'Dust motes drifted slowly through the open window.',
  'The postman whistled, late again as usual.',
];
// Both repeat the text's theme words; the later one is denser in them, so it ranks first.
const KEY_EARLY = 'Nobody suspected that the lighthouse keeper had quietly hidden the stolen map somewhere.';
const KEY_LATE = 'The stolen map showed the lighthouse keeper the treasure beneath the lighthouse.';

const norm = (v: number[]) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));

describe('builtin summarize', () => {
  it('picks the sentences that score highest, not the first ones, in their original order', async () => {
    const text = [...FILLER.slice(0, 3), KEY_EARLY, ...FILLER.slice(3, 7), KEY_LATE, FILLER[7]].join(' ');
    // 10 sentences → 20% → 2 chosen.
    await expect(createBuiltinProvider().summarize(text)).resolves.toBe(`${KEY_EARLY} ${KEY_LATE}`);
  });

  it('ranks the denser sentence first when only one is kept', () => {
    const text = [FILLER[0], KEY_EARLY, FILLER[1], FILLER[2], KEY_LATE, FILLER[3]].join(' ');
    expect(summarizeText(text)).toBe(KEY_LATE);
  });

  it('keeps at most 5 sentences and at most SUMMARY_MAX_CHARS characters, cut at a word', () => {
    const sentences = Array.from({ length: 80 }, (_, i) => `The harbour storm ${i} battered the harbour walls again.`);
    const summary = summarizeText(sentences.join(' '));
    expect(summary.length).toBeLessThanOrEqual(SUMMARY_MAX_CHARS);
    expect(summary.split('. ').length).toBeLessThanOrEqual(5);

    const endless = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const capped = summarizeText(endless);
    expect(capped.length).toBeLessThanOrEqual(SUMMARY_MAX_CHARS);
    expect(capped.length).toBeGreaterThan(SUMMARY_MAX_CHARS / 2);
    expect(capped.endsWith('…')).toBe(true);
    expect(endless.startsWith(`${capped.slice(0, -1)} `)).toBe(true);
  });

  it('returns a one-sentence text as is, with its whitespace collapsed', () => {
    expect(summarizeText('  The only\n   sentence here.  ')).toBe('The only sentence here.');
  });

  it('returns "" for empty or whitespace-only text', async () => {
    expect(summarizeText('')).toBe('');
    await expect(createBuiltinProvider().summarize(' \n\t ')).resolves.toBe('');
  });

  it('does not end a sentence at Mr. or an initial, and ends one at a blank line', () => {
    const text = 'Mr. Smith met J. Doe at the pier today\n\nThen they left.';
    // 3 sentences → 1 chosen: the first, whole, not cut at "Mr." or "J.".
    expect(summarizeText(`${text} Boats.`)).toBe('Mr. Smith met J. Doe at the pier today');
  });

  it('does not repeat a sentence that occurs twice in the text', () => {
    const text = [...FILLER, ...FILLER, KEY_LATE].join(' ');
    const summary = summarizeText(text);
    const sentences = summary.split(/(?<=\.) /);
    expect(sentences.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sentences).size).toBe(sentences.length);
  });

  it('is deterministic', async () => {
    const text = [...FILLER, KEY_EARLY, KEY_LATE].join(' ');
    const first = await createBuiltinProvider().summarize(text);
    expect(first).toContain(KEY_LATE);
    expect(await createBuiltinProvider().summarize(text)).toBe(first);
  });
});

describe('builtin embed', () => {
  it('gives a unit vector of the configured length', async () => {
    const vector = await createBuiltinProvider().embed('The lighthouse keeper vanished in the storm.');
    expect(vector).toHaveLength(256);
    expect(norm(vector)).toBeCloseTo(1, 10);
    const small = await createBuiltinProvider({ dimensions: 64 }).embed('The lighthouse keeper.');
    expect(small).toHaveLength(64);
    expect(norm(small)).toBeCloseTo(1, 10);
  });

  it('gives a zero vector of the right length for empty text', () => {
    expect(embedText('', 32)).toEqual(new Array(32).fill(0));
    expect(embedText('  \n ', 8)).toEqual(new Array(8).fill(0));
  });

  it('is deterministic across processes: FNV-1a of "hello" is 0x4f9f2cab → bucket 171, positive', () => {
    const vector = embedText('Hello');
    expect(vector[171]).toBe(1);
    expect(vector.filter((x) => x !== 0)).toHaveLength(1);
    expect(embedText('The keeper and the storm')).toEqual(embedText('the KEEPER and the storm'));
  });

  it('puts similar texts closer together than unrelated ones', () => {
    const a = embedText('The lighthouse keeper vanished during the storm at the harbour.');
    const b = embedText('A storm at the harbour; the lighthouse keeper vanished.');
    const c = embedText('Quarterly revenue grew in the retail banking segment.');
    expect(cosineSimilarity(a, b)).toBeGreaterThan(0.5);
    expect(cosineSimilarity(a, b)).toBeGreaterThan(cosineSimilarity(a, c) + 0.3);
  });

  it('falls back to every word when the text is only stopwords', () => {
    expect(norm(embedText('to be or not to be'))).toBeCloseTo(1, 10);
  });
});

describe('cosineSimilarity', () => {
  it('is 1 for the same direction, 0 for orthogonal or zero vectors, and rejects length mismatches', () => {
    expect(cosineSimilarity([1, 2], [2, 4])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([1, 0], [0, 1])).toBe(0);
    expect(cosineSimilarity([0, 0], [1, 1])).toBe(0);
    expect(() => cosineSimilarity([1], [1, 2])).toThrow(RangeError);
  });
});

describe('builtin simulated latency', () => {
  it('delays each call by simulatedLatencyMs', async () => {
    const provider = createBuiltinProvider({ simulatedLatencyMs: 60 });
    for (const call of [() => provider.summarize('One sentence.'), () => provider.embed('One sentence.')]) {
      // An order, not a duration: a 45 ms timer set after the call starts fires first only if the call waits longer.
      // (59 ms was too close: on a busy loop both timers come due in one turn, and the call's, set first, ran first.)
      const answer = call();
      const first = await Promise.race([answer.then(() => 'answer'), sleep(45).then(() => 'timer')]);
      expect(first).toBe('timer');
      await answer;
    }
  });

  it('rejects with an AbortError when the signal aborts during the delay', async () => {
    const provider = createBuiltinProvider({ simulatedLatencyMs: 30_000 });
    const controller = new AbortController();
    const call = provider.embed('text', { signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects at once when the signal is already aborted, even without latency', async () => {
    const provider = createBuiltinProvider();
    await expect(provider.summarize('text.', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});
