import { h } from './dom.ts';

/** One toast. The same event gives the same `id` in every tab, which is how a dismissal travels. */
export interface ToastSpec {
  id: string;
  kind: 'success' | 'error' | 'warning' | 'info';
  title: string;
  body?: string;
}

const DISMISSED_KEY = 'herald:dismissed-toasts';
const REMEMBERED = 200;
const VISIBLE = 5;

/**
 * The toast stack. Dismissing a toast removes it in every tab of the
 * browser (BroadcastChannel), and a tab opened later does not show it again
 * (the dismissed ids are kept in localStorage).
 */
export function createToasts(container: HTMLElement) {
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('herald:toasts') : undefined;
  const shown = new Map<string, HTMLElement>();

  const remove = (id: string) => {
    shown.get(id)?.remove();
    shown.delete(id);
  };
  channel?.addEventListener('message', (m: MessageEvent<{ dismiss?: string }>) => {
    if (m.data.dismiss) remove(m.data.dismiss);
  });

  function dismiss(id: string): void {
    remove(id);
    remember(id);
    channel?.postMessage({ dismiss: id });
  }

  function show(spec: ToastSpec): void {
    if (shown.has(spec.id) || dismissedIds().includes(spec.id)) return;
    const close = h('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss' }, '×');
    close.addEventListener('click', () => dismiss(spec.id));
    const el = h(
      'div',
      { class: 'toast', 'data-testid': 'toast', 'data-kind': spec.kind, 'data-toast-id': spec.id, role: spec.kind === 'error' ? 'alert' : 'status' },
      h('strong', {}, spec.title),
      close,
      ...(spec.body ? [h('p', {}, spec.body)] : []),
    );
    container.append(el);
    shown.set(spec.id, el);
    // Oldest first out: a long session should not bury the page.
    while (shown.size > VISIBLE) remove(shown.keys().next().value!);
  }

  return { show, dismiss };
}

function dismissedIds(): string[] {
  try {
    return JSON.parse(localStorage.getItem(DISMISSED_KEY) ?? '[]') as string[];
  } catch {
    return [];
  }
}

function remember(id: string): void {
  try {
    localStorage.setItem(DISMISSED_KEY, JSON.stringify([...dismissedIds().filter((d) => d !== id), id].slice(-REMEMBERED)));
  } catch {
    // Storage may be full or disabled; the other open tabs still hear about it.
  }
}
