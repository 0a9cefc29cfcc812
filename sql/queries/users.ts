import type { Sql } from '../client.ts';

/** Records a user the first time their token is seen; later calls keep the stored name unless a new one is given. */
export async function upsertUser(sql: Sql, id: string, name: string | null): Promise<void> {
  await sql`
    insert into users (id, name) values (${id}, ${name})
    on conflict (id) do update set name = coalesce(excluded.name, users.name)
    where users.name is distinct from coalesce(excluded.name, users.name)`;
}
