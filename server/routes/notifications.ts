import { createRoute, z } from '@hono/zod-openapi';
import { requireAccess } from '../../domain/access.ts';
import type { Sql } from '../../sql/client.ts';
import { findPreferences, listNotifications, markNotificationRead, savePreferences } from '../../sql/queries/notifications.ts';
import { findAccess } from '../../sql/queries/members.ts';
import { isMuted, setMuted } from '../../sql/queries/notification-mutes.ts';
import { NOTIFICATION_KINDS } from '../../realtime/events.ts';
import { notificationView } from '../../realtime/notifier.ts';
import { createRouter } from '../app-env.ts';
import { notFound } from '../errors.ts';
import { IdParam, IntQuery, MAX_OFFSET, errorResponses } from './schemas.ts';

export interface NotificationRoutesDeps {
  sql: Sql;
}

const NotificationSchema = z
  .object({ id: z.uuid(), kind: z.string(), title: z.string(), body: z.string(), document_id: z.uuid().optional(), at: z.string(), read: z.boolean().optional() })
  .openapi('Notification');
const Page = z.object({
  limit: IntQuery(1, 200).optional().openapi({ description: 'page size, default 50' }),
  offset: IntQuery(0, MAX_OFFSET).optional().openapi({ description: 'default 0' }),
});
const Mute = z
  .object({ muted: z.boolean().openapi({ description: 'true: no notification about this document is stored or pushed to the caller' }) })
  .openapi('DocumentNotifications');
const Preferences = z.object({ kinds: z.array(z.enum(NOTIFICATION_KINDS)).openapi({ example: ['package.ready', 'job.failed'] }) }).openapi('NotificationPreferences');

const listNotificationsRoute = createRoute({
  method: 'get', path: '/api/notifications', summary: "The caller's notifications, unread first, newest first within each", request: { query: Page },
  responses: {
    200: { description: 'A page', content: { 'application/json': { schema: z.object({ notifications: z.array(NotificationSchema), unread: z.number().int(), next_offset: z.number().int().nullable() }) } } },
    ...errorResponses(400, 401, 503),
  },
});

const markReadRoute = createRoute({
  method: 'post', path: '/api/notifications/{id}/read', summary: 'Mark a notification read', request: { params: IdParam },
  responses: { 204: { description: 'Read' }, ...errorResponses(401, 404, 503) },
});

const savePreferencesRoute = createRoute({
  method: 'put', path: '/api/notifications/preferences', summary: 'Which kinds are pushed to sockets (every kind is still stored)',
  request: { body: { required: true, content: { 'application/json': { schema: Preferences } } } },
  responses: { 200: { description: 'Saved', content: { 'application/json': { schema: Preferences } } }, ...errorResponses(400, 401, 503) },
});

const getMuteRoute = createRoute({
  method: 'get', path: '/api/documents/{id}/notifications', summary: "Whether the caller muted this document's notifications", request: { params: IdParam },
  responses: { 200: { description: 'The setting', content: { 'application/json': { schema: Mute } } }, ...errorResponses(401, 404, 503) },
});

const setMuteRoute = createRoute({
  method: 'put', path: '/api/documents/{id}/notifications', summary: "Mute or unmute this document's notifications for the caller (owner or member)",
  request: { params: IdParam, body: { required: true, content: { 'application/json': { schema: Mute } } } },
  responses: { 200: { description: 'Saved', content: { 'application/json': { schema: Mute } } }, ...errorResponses(400, 401, 404, 503) },
});

/** The caller's inbox: list (unread first), mark read, which kinds are pushed, and which documents are muted. */
export function notificationRoutes(deps: NotificationRoutesDeps) {
  const app = createRouter();
  app.openapi(listNotificationsRoute, async (c) => {
    const { limit = 50, offset = 0 } = c.req.valid('query');
    const { rows, unread } = await listNotifications(deps.sql, c.get('user').id, limit, offset);
    return c.json({ notifications: rows.map(notificationView), unread, next_offset: rows.length === limit ? offset + limit : null }, 200);
  });
  app.openapi(markReadRoute, async (c) => {
    if (!(await markNotificationRead(deps.sql, c.get('user').id, c.req.valid('param').id))) throw notFound();
    return c.body(null, 204);
  });
  app.openapi(savePreferencesRoute, async (c) => {
    const { kinds } = c.req.valid('json');
    await savePreferences(deps.sql, c.get('user').id, [...new Set(kinds)]);
    return c.json({ kinds: (await findPreferences(deps.sql, c.get('user').id)) as (typeof NOTIFICATION_KINDS)[number][] }, 200);
  });
  app.openapi(getMuteRoute, async (c) => {
    const { id } = c.req.valid('param');
    requireAccess(await findAccess(deps.sql, id, c.get('user').id), 'read');
    return c.json({ muted: await isMuted(deps.sql, id, c.get('user').id) }, 200);
  });
  app.openapi(setMuteRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { muted } = c.req.valid('json');
    requireAccess(await findAccess(deps.sql, id, c.get('user').id), 'read');
    await setMuted(deps.sql, id, c.get('user').id, muted);
    return c.json({ muted }, 200);
  });
  return app;
}
