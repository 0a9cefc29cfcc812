import type { PresenceUser } from '../client/index.ts';
import { h } from './dom.ts';


/**
 * Who has the document open: an avatar per person in the header
 * (`[data-testid=presence]`), and, beside a chapter's editor, the avatars of
 * the others editing that chapter. Each person keeps one colour, worked out
 * from their user id, in every tab and browser.
 */
export function createPresenceView(header: HTMLElement, me: string) {
  let users: PresenceUser[] = [];

  function render(next: PresenceUser[], chapters: ParentNode): void {
    users = [...next].sort((a, b) => (a.user_id === me ? -1 : b.user_id === me ? 1 : a.user_id.localeCompare(b.user_id)));
    header.replaceChildren(...users.map((u) => avatar(u, u.user_id === me, 'presence-user')));
    header.hidden = users.length === 0;
    header.setAttribute('aria-label', users.length === 1 ? 'Only you have this open' : `${users.length} people have this open`);
    for (const slot of chapters.querySelectorAll<HTMLElement>('.chapter-presence')) {
      const chapterId = slot.closest('[data-chapter-id]')?.getAttribute('data-chapter-id');
      const here = users.filter((u) => u.user_id !== me && u.chapter_id && u.chapter_id.toLowerCase() === chapterId?.toLowerCase());
      slot.replaceChildren(...here.map((u) => avatar(u, false, 'chapter-presence-user')));
      slot.setAttribute('aria-label', here.length ? `Also editing: ${here.map(nameOf).join(', ')}` : '');
    }
  }

  return {
    render,
    /** Draws the chapter avatars again (chapters were added). */
    refresh: (chapters: ParentNode) => render(users, chapters),
    clear(chapters: ParentNode): void {
      render([], chapters);
    },
  };
}

function avatar(u: PresenceUser, isMe: boolean, testId: string): HTMLElement {
  const label = `${nameOf(u)}${isMe ? ' (you)' : ''}${u.chapter_id ? ', editing' : ''}`;
  const el = h(
    'span',
    {
      class: 'avatar', 'data-testid': testId, 'data-user': u.user_id, 'data-chapter-id': u.chapter_id ?? undefined,
      title: label, 'aria-label': label, role: 'img',
    },
    initials(nameOf(u)),
  );
  el.style.setProperty('--avatar-hue', String(hueOf(u.user_id)));
  return el;
}

function nameOf(u: PresenceUser): string {
  return u.name.trim() || u.user_id;
}

/** Up to two letters: the first of the first two words, or the first two of one word. */
export function initials(name: string): string {
  const words = name.trim().split(/[\s._@-]+/).filter(Boolean);
  const letters = words.length >= 2 ? [words[0]![0], words[1]![0]] : [...(words[0] ?? '?')].slice(0, 2);
  return letters.join('').toUpperCase();
}

/** A stable hue per user id (FNV-1a), the same in every browser. */
export function hueOf(userId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % 360;
}
