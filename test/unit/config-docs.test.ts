import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOCS_PATH, STALE_CONFIG_DOCS, renderConfigDocs } from '../../server/config-docs.ts';
import { CONFIG_GROUPS, envSchema } from '../../server/config-schema.ts';

describe('configuration reference', () => {
  it('describes every variable, each in exactly one group', () => {
    const grouped = CONFIG_GROUPS.flatMap((group) => Object.keys(group.variables));
    expect(grouped.length).toBe(new Set(grouped).size);
    expect(new Set(grouped)).toEqual(new Set(Object.keys(envSchema.shape)));
    const undescribed = Object.entries(envSchema.shape).filter(([, schema]) => !schema.description?.trim()).map(([name]) => name);
    expect(undescribed).toEqual([]);
  });

  it('lists every variable with its default and meaning', () => {
    const page = renderConfigDocs();
    for (const name of Object.keys(envSchema.shape)) expect(page).toContain(`| \`${name}\` |`);
    expect(page).toContain('| `SOCKET_MAX_SUBSCRIPTIONS` | `100` | integer, 1 to 100,000 | Documents one socket may watch at once');
    expect(page).toContain('| `DATABASE_POOL_SIZE` | `20` in a process that runs the worker role, `10` otherwise |');
  });

  it('is committed as generated', () => {
    expect(readFileSync(CONFIG_DOCS_PATH, 'utf8'), STALE_CONFIG_DOCS).toBe(renderConfigDocs());
  });
});
