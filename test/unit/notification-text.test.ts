import { describe, expect, it } from 'vitest';
import { MAX_NOTIFICATION_TITLE, plainText, quoteTitle } from '../../realtime/notifier.ts';

describe('notification text', () => {
  it('keeps a short plain title as it is', () => {
    expect(plainText('The Long Winter', MAX_NOTIFICATION_TITLE)).toBe('The Long Winter');
    expect(quoteTitle('The Long Winter')).toBe('“The Long Winter”');
  });

  it('puts the text on one line, without controls or reordering marks', () => {
    expect(plainText('Urgent\r\n\tpay \u202Eexe.gnp\u202C now\u0007', 100)).toBe('Urgent pay exe.gnp now');
    expect(plainText('a\u2066b\u2069c\u200Fd', 100)).toBe('a b c d');
  });

  it('cuts at the limit in code points, never inside a surrogate pair, and says so with …', () => {
    expect(plainText('x'.repeat(10), 10)).toBe('x'.repeat(10));
    expect(plainText('x'.repeat(11), 10)).toBe(`${'x'.repeat(9)}…`);
    const astral = '😀'.repeat(10);
    expect(plainText(astral, 10)).toBe(astral);
    expect(plainText('😀'.repeat(11), 10)).toBe(`${'😀'.repeat(9)}…`);
    expect(Array.from(quoteTitle('y'.repeat(500)))).toHaveLength(82);
  });

  it('reads only the head of a megabyte of input, and says it was cut', () => {
    expect(plainText(`${'z\n'.repeat(500_000)}`, 10)).toBe('z z z z z…');
    expect(plainText(`${' '.repeat(1_000_000)}tail`, 10)).toBe('…');
    expect(plainText(`${'x'.repeat(39)}😀${'y'.repeat(1000)}`, 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
