import { describe, expect, it } from 'vitest';
import { hueOf, initials } from '../../realtime/page/presence-view.ts';

describe('presence avatars', () => {
  it('shows up to two initials from a name or a user id', () => {
    expect(initials('Ana Lima')).toBe('AL');
    expect(initials('ben')).toBe('BE');
    expect(initials('ana.lima@example.com')).toBe('AL');
    expect(initials('   ')).toBe('?');
  });

  it('gives each user one hue, the same every time, spread over the wheel', () => {
    expect(hueOf('ana')).toBe(hueOf('ana'));
    const hues = new Set(['ana', 'ben', 'vic', 'dee', 'eli', 'fay'].map(hueOf));
    expect(hues.size).toBeGreaterThan(4);
    for (const h of hues) expect(h).toBeGreaterThanOrEqual(0), expect(h).toBeLessThan(360);
  });
});
