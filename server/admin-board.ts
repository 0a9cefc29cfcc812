import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AdminSessions } from './admin-sessions.ts';
import type { AppEnv } from './app-env.ts';
import type { Authenticate } from './auth.ts';
import { AppError, forbidden } from './errors.ts';
import { boardSecurityHeaders } from './security-headers.ts';

/** Where the board lives. */
export const BOARD_PATH = '/admin/queues';
/** Ends the board session: POST (or GET, from the address bar). */
export const BOARD_LOGOUT_PATH = `${BOARD_PATH}/logout`;
const COOKIE = 'herald_admin';

export interface AdminBoardDeps {
  queues: Queue[];
  authenticate: Authenticate;
  /** Users (token `sub`s) allowed in; nobody when empty. Checked on every request, so removing a user locks them out at once. */
  adminUsers: readonly string[];
  sessions: AdminSessions;
  /** Lifetime of a session, in seconds (the cookie's Max-Age). */
  sessionTtlSeconds: number;
  /** Believe `X-Forwarded-Proto: https` (TRUST_PROXY=on) when deciding the cookie's `Secure`. */
  trustProxy: boolean;
}

/** Mounts the Bull Board at /admin/queues, for the users in ADMIN_USERS only, with its own CSP. */
export function mountAdminBoard(app: OpenAPIHono<AppEnv>, deps: AdminBoardDeps): void {
  const adapter = new HonoAdapter(serveStatic).setBasePath(BOARD_PATH);
  createBullBoard({ queues: deps.queues.map((q) => new BullMQAdapter(q)), serverAdapter: adapter });
  // `${BOARD_PATH}/*` matches BOARD_PATH itself too.
  app.use(`${BOARD_PATH}/*`, boardSecurityHeaders());
  // Before the admin check: signing out needs no live session, and always clears the cookie.
  app.on(['GET', 'POST'], BOARD_LOGOUT_PATH, async (c) => {
    const sessionId = getCookie(c, COOKIE);
    if (sessionId) await deps.sessions.end(sessionId);
    deleteCookie(c, COOKIE, cookieOptions(c, deps));
    return c.req.method === 'GET' ? c.text('Signed out of the queue board.', 200) : c.body(null, 204);
  });
  app.use(`${BOARD_PATH}/*`, adminOnly(deps));
  app.route(BOARD_PATH, adapter.registerPlugin());
}

/**
 * A browser cannot send a Bearer header when it navigates, so the board
 * accepts `?token=<jwt>` once: it starts a server-side session and sets its
 * random id (never the token) in an HttpOnly, SameSite=Strict cookie scoped
 * to the board, then sends the browser to the same page without the token.
 * Later requests (the board's own API calls) carry the cookie; scripts may
 * send the Bearer header instead.
 */
function adminOnly(deps: AdminBoardDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const fromQuery = c.req.query('token');
    if (fromQuery !== undefined) return signIn(c, deps, fromQuery);
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const userId = bearer ? (await deps.authenticate(bearer)).id : await sessionUser(c, deps);
    if (!deps.adminUsers.includes(userId)) {
      // A session outliving its user's place in ADMIN_USERS is ended, not just refused.
      if (!bearer) await deps.sessions.end(getCookie(c, COOKIE)!);
      throw notAdmin();
    }
    await next();
  };
}

async function signIn(c: Context<AppEnv>, deps: AdminBoardDeps, token: string): Promise<Response> {
  const user = await deps.authenticate(token);
  if (!deps.adminUsers.includes(user.id)) throw notAdmin();
  const sessionId = await deps.sessions.start(user.id);
  setCookie(c, COOKIE, sessionId, { ...cookieOptions(c, deps), maxAge: deps.sessionTtlSeconds });
  const url = new URL(c.req.url);
  url.searchParams.delete('token');
  return c.redirect(url.pathname + url.search, 302);
}

async function sessionUser(c: Context<AppEnv>, deps: AdminBoardDeps): Promise<string> {
  const sessionId = getCookie(c, COOKIE);
  const userId = sessionId ? await deps.sessions.find(sessionId) : null;
  if (!userId) {
    throw new AppError('unauthenticated', `No live board session: open ${BOARD_PATH}?token=<jwt> as a user listed in ADMIN_USERS.`);
  }
  return userId;
}

const notAdmin = () => forbidden('Only users listed in ADMIN_USERS may open the queue board.');

function cookieOptions(c: Context<AppEnv>, deps: AdminBoardDeps) {
  return { httpOnly: true, sameSite: 'Strict', path: BOARD_PATH, secure: cameOverHttps(c, deps.trustProxy) } as const;
}

/** Whether the browser's request was https: on this connection, or (trusted) at the proxy in front, per X-Forwarded-Proto's first hop. */
export function cameOverHttps(c: Context, trustProxy: boolean): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  if (!trustProxy) return false;
  return c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}
