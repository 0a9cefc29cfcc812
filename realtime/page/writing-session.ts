import type { DocumentStore, PresenceUser, RealtimeClient } from '../client/index.ts';
import { createChapterApi } from './chapter-api.ts';
import type { ChapterHooks } from './document-view.ts';
import { $ } from './dom.ts';
import { createOfflineStore } from './offline-store.ts';
import { createPresenceView } from './presence-view.ts';
import { createWritingView } from './writing-view.ts';

/**
 * Writing in the page, wired to the rest of it: the chapter editors (through
 * the document view's hooks), the edits kept offline, sending them again
 * when the browser or the live connection comes back, and who else has the
 * document open.
 */
export function startWriting(token: string, client: RealtimeClient) {
  const userId = tokenSubject(token);
  const chapters = $('section.document .chapters');
  const presence = createPresenceView($('[data-testid=presence]'), userId);
  let store: DocumentStore | undefined;
  let stopPresence: (() => void) | undefined;
  const writing = createWritingView({
    api: createChapterApi(token),
    drafts: createOfflineStore(),
    userId,
    onEditing: (chapterId) => store?.announce(chapterId),
    stateEl: $('[data-testid=save-state]'),
  });

  const resume = () => writing.resume();
  globalThis.addEventListener('online', resume);
  client.on('status', (status) => status === 'connected' && resume());

  const hooks: ChapterHooks = {
    added: (el, chapter, documentId) => writing.attach(el, chapter, documentId),
    rendered: (state, items) => {
      writing.update(state, items);
      presence.refresh(chapters);
    },
  };

  return {
    hooks,
    /** The document now open (its store), for presence. */
    watch(next: DocumentStore): void {
      store = next;
      const show = (users: PresenceUser[]) => presence.render(users, chapters);
      stopPresence = next.on('presence', show);
      show(next.presence);
    },
    close(): void {
      stopPresence?.();
      store?.announce(null);
      store = undefined;
      writing.close();
      presence.clear(chapters);
    },
  };
}

/** The user id (`sub`) the token names; the server checked the token, the page only reads it. */
function tokenSubject(token: string): string {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const sub = (JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (ch) => ch.charCodeAt(0)))) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : '';
  } catch {
    return '';
  }
}
