import type { NotificationPayload } from '../client/index.ts';
import type { Api } from './api.ts';
import { $, h } from './dom.ts';

export interface InboxDeps {
  api: Api;
  /** Opens the document a notification is about. */
  onOpen(documentId: string): void;
}

/**
 * The notification inbox in the top bar: `[data-testid=inbox-count]` is the
 * number unread (from `GET /api/notifications`, then kept up by the live
 * `notification` events and by marking read); the button opens the list,
 * where each one can be marked read (`POST /api/notifications/:id/read`).
 */
// Longer than ~60 lines on purpose: the list, the unread count and the panel are one state shared by the returned methods.
export function createInbox(root: HTMLElement, deps: InboxDeps) {
  const button = $<HTMLButtonElement>('.inbox-button', root);
  const count = $('[data-testid=inbox-count]', root);
  const panel = $('.inbox-panel', root);
  const list = $<HTMLOListElement>('.inbox-list', panel);
  const markAll = $<HTMLButtonElement>('.mark-all', panel);
  const items = new Map<string, NotificationPayload>();
  let unread = 0;

  const setOpen = (open: boolean) => {
    panel.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
  };
  button.addEventListener('click', () => setOpen(panel.hidden));
  root.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !panel.hidden) {
      setOpen(false);
      button.focus();
    }
  });
  document.addEventListener('click', (e) => !root.contains(e.target as Node) && setOpen(false));
  markAll.addEventListener('click', () => void markRead([...items.values()].filter((n) => !n.read).map((n) => n.id)));

  function render(): void {
    count.textContent = String(unread);
    count.dataset.count = String(unread);
    markAll.disabled = unread === 0;
    const sorted = [...items.values()].sort((a, b) => Number(!!a.read) - Number(!!b.read) || b.at.localeCompare(a.at));
    list.replaceChildren(...(sorted.length ? sorted.slice(0, 50).map(item) : [h('li', { class: 'muted' }, 'No notifications.')]));
  }

  function item(n: NotificationPayload): HTMLLIElement {
    const actions: HTMLElement[] = [];
    if (n.document_id) {
      const open = h('button', { type: 'button', class: 'link' }, 'Open');
      open.addEventListener('click', () => (setOpen(false), deps.onOpen(n.document_id!)));
      actions.push(open);
    }
    if (!n.read) {
      const read = h('button', { type: 'button', class: 'link', 'data-testid': 'inbox-mark-read' }, 'Mark read');
      read.addEventListener('click', () => void markRead([n.id]));
      actions.push(read);
    }
    return h(
      'li',
      { 'data-testid': 'inbox-item', 'data-notification-id': n.id, 'data-read': String(!!n.read) },
      h('strong', {}, n.title),
      h('p', {}, n.body),
      h('div', { class: 'inbox-actions' }, h('time', { datetime: n.at }, new Date(n.at).toLocaleString()), ...actions),
    );
  }

  async function markRead(ids: string[]): Promise<void> {
    await Promise.all(
      ids.map(async (id) => {
        const n = items.get(id);
        if (!n || n.read) return;
        n.read = true;
        unread = Math.max(0, unread - 1);
        // Already read elsewhere (404: gone) is as good as read here.
        await deps.api.markRead(id).catch(() => undefined);
      }),
    );
    render();
  }

  return {
    /** Reads the inbox; notifications that arrived meanwhile are kept. */
    async load(): Promise<void> {
      const page = await deps.api.listNotifications();
      const early = [...items.values()].filter((n) => !page.notifications.some((p) => p.id === n.id));
      items.clear();
      for (const n of [...page.notifications, ...early]) items.set(n.id, n);
      unread = page.unread + early.filter((n) => !n.read).length;
      render();
    },
    /** A live (or replayed) notification; false when the inbox already has it. */
    receive(n: NotificationPayload): boolean {
      if (items.has(n.id)) return false;
      items.set(n.id, { ...n });
      if (!n.read) unread++;
      render();
      return true;
    },
    markRead,
  };
}
