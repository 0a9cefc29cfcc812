import { h } from './dom.ts';

/** One toast. The same event gives the same `id` in every tab, which is how a dismissal travels. */
export interface ToastSpec {
  id: string;
  kind: 'success' | 'error' | 'warning' | 'info';
  title: string;
  body?: string;
  /** A toast this one takes the place of, when shown (the essential package's, by the full one's). */
  replaces?: string;
  /** Inbox notifications this toast reports: dismissing it marks them read. */
  notificationIds?: string[];
}

const DISMISSED_KEY = 'herald:dismissed-toasts';
const REMEMBERED = 200;
const VISIBLE = 3;
/** How long a toast that is not an error stays (the inbox keeps it afterwards). */
export const TOAST_MS = 6000;

const RANK: Record<ToastSpec['kind'], number> = { info: 0, success: 1, warning: 2, error: 3 };

/**
 * The toast stack, in the page's flow under the top bar, so a toast never
 * covers a control. Toasts that are not errors leave by themselves after
 * TOAST_MS (unless focus is inside one); errors stay until dismissed. A toast shown again under the same
 * id is updated in place (several failures of one document are one toast).
 * Dismissing a toast removes it in every tab of the browser
 * (BroadcastChannel), a tab opened later does not show it again (the
 * dismissed ids are kept in localStorage), and `onDismiss` hears of it.
 */
// Longer than ~60 lines on purpose: the shown toasts, their timers and what was dismissed are one state shared by the returned methods.
export function createToasts(container: HTMLElement, onDismiss: (spec: ToastSpec) => void = () => {}) {
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('herald:toasts') : undefined;
  const shown = new Map<string, { el: HTMLElement; spec: ToastSpec; timer: ReturnType<typeof setTimeout> | undefined }>();
  /** Toasts that left by themselves: a notification reporting the same event later does not bring one back. */
  const left = new Set<string>();

  const remove = (id: string) => {
    const toast = shown.get(id);
    if (!toast) return;
    clearTimeout(toast.timer);
    toast.el.remove();
    shown.delete(id);
  };
  channel?.addEventListener('message', (m: MessageEvent<{ dismiss?: string }>) => {
    if (m.data.dismiss) remove(m.data.dismiss);
  });

  function dismiss(id: string): void {
    const spec = shown.get(id)?.spec;
    remove(id);
    remember(id);
    channel?.postMessage({ dismiss: id });
    if (spec) onDismiss(spec);
  }

  function render(spec: ToastSpec): HTMLElement {
    const close = h('button', { type: 'button', class: 'dismiss', 'aria-label': `Dismiss: ${spec.title}` }, '×');
    close.addEventListener('click', () => dismiss(spec.id));
    return h(
      'div',
      { class: 'toast', 'data-testid': 'toast', 'data-kind': spec.kind, 'data-toast-id': spec.id, role: spec.kind === 'error' ? 'alert' : 'status' },
      h('strong', {}, spec.title),
      close,
      ...(spec.body ? [h('p', {}, spec.body)] : []),
    );
  }

  function show(spec: ToastSpec): void {
    if (dismissedIds().includes(spec.id)) {
      // Its event was dismissed already (in this browser): what reports it again is read too.
      if (spec.notificationIds) onDismiss(spec);
      return;
    }
    if (spec.notificationIds && left.has(spec.id)) return;
    const existing = shown.get(spec.id);
    const merged = existing ? merge(existing.spec, spec) : spec;
    const el = render(merged);
    const replaced = spec.replaces ? shown.get(spec.replaces) : undefined;
    if (existing) {
      clearTimeout(existing.timer);
      existing.el.replaceWith(el);
    } else if (replaced && spec.replaces) {
      clearTimeout(replaced.timer);
      replaced.el.replaceWith(el);
      shown.delete(spec.replaces);
    } else {
      container.append(el);
    }
    const entry = { el, spec: merged, timer: undefined as ReturnType<typeof setTimeout> | undefined };
    const leave = () => merged.kind !== 'error' && (entry.timer = setTimeout(() => (remove(merged.id), left.add(merged.id)), TOAST_MS));
    // Someone reading it with the keyboard keeps it: the countdown starts again when focus leaves.
    el.addEventListener('focusin', () => clearTimeout(entry.timer));
    el.addEventListener('focusout', (e) => !el.contains(e.relatedTarget as Node | null) && leave());
    leave();
    shown.set(spec.id, entry);
    // Oldest first out: a long session should not bury the page.
    while (shown.size > VISIBLE) remove(shown.keys().next().value!);
  }

  return { show, dismiss, has: (id: string) => shown.has(id) };
}

/** A toast shown again: the later text, the graver kind, every notification it reports. */
function merge(before: ToastSpec, after: ToastSpec): ToastSpec {
  const ids = [...new Set([...(before.notificationIds ?? []), ...(after.notificationIds ?? [])])];
  const kind = RANK[after.kind] >= RANK[before.kind] ? after.kind : before.kind;
  return { ...after, kind, ...(ids.length > 0 && { notificationIds: ids }) };
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
