import { OpenAPIHono, type z } from '@hono/zod-openapi';
import type { AuthUser } from './auth.ts';
import { invalidRequest, notFound } from './errors.ts';

/** What middleware puts on the Hono context. */
export interface AppEnv {
  Variables: {
    user: AuthUser;
    requestId: string;
  };
}

/**
 * An OpenAPIHono whose validation failures become the contract's 400
 * `invalid_request`, with `details` naming each bad field.
 * A bad path id is a 404: no such resource can exist.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      const issues = (result.error as z.ZodError).issues;
      if (result.target === 'param') {
        throw notFound();
      }
      throw invalidRequest(
        issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })),
      );
    },
  });
}
