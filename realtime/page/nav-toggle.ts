/**
 * The manuscripts button of narrow screens (below 900 px the sidebar is
 * folded away): it opens and closes the list; opening a manuscript closes it.
 */
export function createNavToggle(button: HTMLButtonElement, sidebar: HTMLElement) {
  const set = (open: boolean) => {
    document.body.dataset.nav = open ? 'open' : 'closed';
    button.setAttribute('aria-expanded', String(open));
  };
  button.addEventListener('click', () => {
    const open = document.body.dataset.nav !== 'open';
    set(open);
    if (open) sidebar.querySelector<HTMLElement>('button')?.focus();
  });
  return { close: () => set(false) };
}
