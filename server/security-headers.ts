import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

type Policy = NonNullable<NonNullable<Parameters<typeof secureHeaders>[0]>['contentSecurityPolicy']>;

/**
 * The editor page's policy, sent on every response Herald makes: only the
 * page's own scripts and styles (`/editor.js`, `/client.js`, `/editor.css`),
 * no inline code, no plugins, never framed. `connect-src 'self'` also allows
 * the same-origin WebSocket (`ws:`/`wss:` on the page's host; CSP Level 3).
 * `data:` images: the page's empty favicon.
 */
export const PAGE_POLICY = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  connectSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
} satisfies Policy;

/**
 * The Bull Board's policy: as the page's, except what its markup needs:
 * inline `style` attributes and a `<style>` in its loading screen, and a
 * `<base href>` to its own path. Its Google Fonts stylesheet is refused (the
 * board falls back to system fonts; an admin's visit tells no third party).
 */
export const BOARD_POLICY = {
  ...PAGE_POLICY,
  styleSrc: ["'self'", "'unsafe-inline'"],
  baseUri: ["'self'"],
} satisfies Policy;

const COMMON = {
  xFrameOptions: 'DENY',
  referrerPolicy: 'no-referrer',
  xContentTypeOptions: 'nosniff',
  // HSTS belongs to whatever terminates TLS: Herald speaks plain HTTP behind it and cannot know the domain's other hosts.
  strictTransportSecurity: false,
} as const;

/**
 * The headers of every response: the page's CSP, `X-Frame-Options: DENY`,
 * `nosniff`, `Referrer-Policy: no-referrer` and Hono's other defaults. A
 * header a route set itself (the board's own CSP) is kept.
 */
export function pageSecurityHeaders(): MiddlewareHandler {
  return secureHeaders({ ...COMMON, contentSecurityPolicy: PAGE_POLICY, overwrite: false });
}

/** The Bull Board's headers (its looser CSP); mounted on its paths, inside pageSecurityHeaders. */
export function boardSecurityHeaders(): MiddlewareHandler {
  return secureHeaders({ ...COMMON, contentSecurityPolicy: BOARD_POLICY });
}
