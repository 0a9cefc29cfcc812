import { $ } from './dom.ts';
import { forgetToken } from './page-address.ts';

const TEXT = {
  invalid: {
    title: 'This sign-in link does not work',
    body: 'The token in the link is not valid here: it may be mistyped, cut short, or made for another Herald.',
  },
  expired: {
    title: 'Your session has expired',
    body: 'The token in the link has expired. Nothing you saved is lost.',
  },
} as const;

/**
 * Replaces the workspace with what went wrong with the token (refused or
 * expired: a 401) and how to get a new one, instead of an empty page.
 */
export function showSignInProblem(reason: keyof typeof TEXT): void {
  forgetToken();
  const screen = $('[data-testid=signin-problem]');
  $('h1', screen).textContent = TEXT[reason].title;
  $('.reason', screen).textContent = TEXT[reason].body;
  screen.hidden = false;
  document.body.dataset.screen = 'signin-problem';
  $<HTMLButtonElement>('[data-testid=upload]').disabled = true;
}
