import { describe, expect, it } from 'vitest';
import { extractCharacters, mergeNameStats, nameStats, rankCharacters } from '../../domain/text/characters.ts';

const names = (list: { name: string }[]) => list.map((c) => c.name);

describe('extractCharacters: screenplays', () => {
  it('takes uppercase cues directly followed by dialogue, title-cased', () => {
    const scene = [
      'INT. LIGHTHOUSE - NIGHT',
      '',
      'Mara climbs the stairs. Tomas waits below.',
      '',
      'MARA',
      'Is anyone up there?',
      '',
      'TOMAS (O.S.)',
      'Only the wind.',
      '',
      'MARA',
      '(whispering)',
      'Then who lit the lamp?',
      '',
      'CUT TO:',
      '',
      'EXT. HARBOUR - DAWN',
    ].join('\n');
    expect(extractCharacters(scene, 'screenplay')).toEqual([
      // Two cues plus one mention in the action line each.
      { name: 'Mara', mentions: 3 },
      { name: 'Tomas', mentions: 2 },
    ]);
  });

  it('ignores scene headings, transitions and uppercase lines with no dialogue after them', () => {
    const text = ['FADE IN:', '', 'INT. KITCHEN - DAY', 'A kettle boils.', '', 'THE END', ''].join('\n');
    expect(extractCharacters(text, 'screenplay')).toEqual([]);
  });

  it('keeps multi-word and punctuated cue names', () => {
    const text = ['DR. HOLT', 'Sit down.', '', "MARY O'BRIEN (CONT'D)", 'I would rather stand.'].join('\n');
    expect(names(extractCharacters(text, 'screenplay'))).toEqual(['Dr. Holt', "Mary O'Brien"]);
  });
});

describe('extractCharacters: prose', () => {
  it('finds recurring capitalised names, counting every mention', () => {
    const text = 'Mara lit the lantern. The storm rose, and Mara waited for Tomas. At dawn Tomas rowed home to Mara.';
    expect(extractCharacters(text, 'book')).toEqual([
      { name: 'Mara', mentions: 3 },
      { name: 'Tomas', mentions: 2 },
    ]);
  });

  it('needs a name to recur and to appear away from a sentence start', () => {
    // "Storm" only ever opens a sentence; "Ilse" is mentioned once.
    const text = 'Storm came. Storm went. Then Ilse left.';
    expect(extractCharacters(text, 'book')).toEqual([]);
  });

  it('drops words that also occur in lower case, honorifics and calendar words', () => {
    const text = 'The River ran past. We crossed the river with Mr. Darcy on Monday; Mr. Darcy hated Monday.';
    expect(names(extractCharacters(text, 'book'))).toEqual(['Darcy']);
  });

  it('reads names after quotes and possessives', () => {
    const text = '"Where is Ada?" he asked. Nobody knew Ada\'s secret, not even Ada.';
    expect(extractCharacters(text, 'book')).toEqual([{ name: 'Ada', mentions: 3 }]);
  });

  it('handles non-ASCII names and caps the list', () => {
    const text = 'We met Élodie at noon, and then Élodie left, and Élodie came back. ' + 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('').map((l) => `and X${l.toLowerCase()}q met X${l.toLowerCase()}q`).join(', ');
    const found = extractCharacters(text, 'book', 5);
    expect(found).toHaveLength(5);
    expect(names(extractCharacters(text, 'book'))).toContain('Élodie');
  });
});

describe('nameStats, mergeNameStats, rankCharacters', () => {
  it('gives per-text statistics that merge into the same answer as the whole text', () => {
    const parts = ['Mara lit the lamp. Later Mara slept.', 'At dawn Tomas woke. Tomas and Mara rowed out.', 'A storm came. Storm clouds hid Tomas.'];
    const merged = rankCharacters(mergeNameStats(parts.map((p) => nameStats(p, 'book'))), 'book', 10);
    expect(merged).toEqual([
      { name: 'Mara', mentions: 3 },
      { name: 'Tomas', mentions: 3 },
    ]);
    expect(merged).toEqual(extractCharacters(parts.join('\n\n'), 'book'));
  });

  it('counts a name once per text it is mentioned in, never a lower-case word', () => {
    const stats = nameStats('The Storm broke. We feared the storm, said Ann to Ann.', 'book');
    expect(stats.find((s) => s.name === 'Storm')).toMatchObject({ total: 1, lower: true });
    expect(stats.find((s) => s.name === 'Ann')).toEqual({ name: 'Ann', total: 2, mid: 2, lower: false });
    expect(stats.find((s) => s.name === 'The')).toBeUndefined();
  });

  it('ranks screenplay cues without the recurrence rule', () => {
    const stats = mergeNameStats([nameStats('BO\nHi.\n', 'screenplay'), nameStats('CY\nYo.\n\nBO\nHey.\n', 'screenplay')]);
    expect(rankCharacters(stats, 'screenplay', 1)).toEqual([{ name: 'Bo', mentions: 2 }]);
  });
});
