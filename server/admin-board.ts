import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import type { MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './app-env.ts';
import type { Authenticate } from './auth.ts';
import { AppError, forbidden } from './errors.ts';

/** Where the board lives. */
export const BOARD_PATH = '/admin/queues';
const COOKIE = 'herald_admin';

export interface AdminBoardDeps {
  queues: Queue[];
  authenticate: Authenticate;
  /** Users (token `sub`s) allowed in; nobody when empty. */
  adminUsers: readonly string[];
}

/** Mounts the Bull Board at /admin/queues, for the users in ADMIN_USERS only. */
export function mountAdminBoard(app: OpenAPIHono<AppEnv>, deps: AdminBoardDeps): void {
  const adapter = new HonoAdapter(serveStatic).setBasePath(BOARD_PATH);
  createBullBoard({ queues: deps.queues.map((q) => new BullMQAdapter(q)), serverAdapter: adapter });
  app.use(BOARD_PATH, adminOnly(deps));
  app.use(`${BOARD_PATH}/*`, adminOnly(deps));
  app.route(BOARD_PATH, adapter.registerPlugin());
}

/**
 * A browser cannot send a Bearer header when it navigates, so the board
 * accepts `?token=<jwt>` once: the token goes into an HttpOnly, SameSite=Strict
 * cookie scoped to the board, and the browser is sent to the same page
 * without it (the token stays out of history and logs). Later requests (the
 * board's own API calls) carry the cookie; scripts may send the header.
 */
function adminOnly(deps: AdminBoardDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const fromQuery = c.req.query('token');
    const header = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const token = fromQuery ?? header ?? getCookie(c, COOKIE);
    if (!token) throw new AppError('unauthenticated', 401, `Open ${BOARD_PATH}?token=<jwt> as a user listed in ADMIN_USERS.`);
    const user = await deps.authenticate(token);
    if (!deps.adminUsers.includes(user.id)) throw forbidden('Only users listed in ADMIN_USERS may open the queue board.');
    if (fromQuery) {
      const secure = new URL(c.req.url).protocol === 'https:';
      setCookie(c, COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: BOARD_PATH, secure, ...(user.expiresAt && { expires: new Date(user.expiresAt * 1000) }) });
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      return c.redirect(url.pathname + url.search, 302);
    }
    await next();
  };
}
