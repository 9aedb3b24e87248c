/**
 * The schema cache reloads as PostgREST's does: DDL fires the platform's event triggers
 * (sql/platform/04_postgrest.sql), which NOTIFY pgrst 'reload schema'; DDL that fires no
 * trigger is invisible until someone sends the NOTIFY; 'reload config' re-reads the role
 * settings. Seen through supabase-js.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRestStack, type RestStack } from './stack.ts';

let stack: RestStack;

beforeAll(async () => {
  stack = await startRestStack({ config: { schemas: ['public', 'graphql_public'] } });
});
afterAll(() => stack?.stop());

/** Polls `probe` until it returns true (a notification arrives asynchronously), at most ~10 s. */
async function eventually(probe: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (await probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
    await stack.dataApi.schemaReloaded();
  }
  return false;
}

describe('schema cache reload', () => {
  it('installs PostgREST event triggers in the bootstrap, as the platform has them', async () => {
    const triggers = await stack.admin<{ evtname: string; evtevent: string; evtfoid: string; owner: string }[]>`
      select evtname, evtevent, (select p.pronamespace::regnamespace::text || '.' || p.proname from pg_proc p where p.oid = evtfoid) as evtfoid, pg_get_userbyid(evtowner) as owner
        from pg_event_trigger where evtname like 'pgrst_%' order by evtname`;
    expect(triggers).toEqual([
      { evtname: 'pgrst_ddl_watch', evtevent: 'ddl_command_end', evtfoid: 'extensions.pgrst_ddl_watch', owner: 'supabase_admin' },
      { evtname: 'pgrst_drop_watch', evtevent: 'sql_drop', evtfoid: 'extensions.pgrst_drop_watch', owner: 'supabase_admin' },
    ]);
  });

  it('sees a table a migration adds, after the event trigger NOTIFYs', async () => {
    const db = stack.client();
    const before = await db.from('reload_added').select('*');
    expect({ status: before.status, code: before.error?.code }).toEqual({ status: 404, code: 'PGRST205' });
    await stack.admin.unsafe(`
      create table public.reload_added (id int primary key, label text);
      insert into public.reload_added values (1, 'new');
      grant select on public.reload_added to anon;`);
    expect(await eventually(async () => (await db.from('reload_added').select('*')).status === 200)).toBe(true);
    expect((await db.from('reload_added').select('label')).data).toEqual([{ label: 'new' }]);
  });

  it('does not see DDL that sent no NOTIFY until one is sent', async () => {
    const db = stack.client();
    await stack.admin.begin(async (tx) => {
      // A replica session fires no event triggers: the DDL stays unannounced.
      await tx`set local session_replication_role = replica`;
      await tx.unsafe(`create table public.reload_silent (id int); insert into public.reload_silent values (7); grant select on public.reload_silent to anon;`);
    });
    await stack.admin`select 1`;
    await stack.dataApi.schemaReloaded();
    const unseen = await db.from('reload_silent').select('*');
    expect({ status: unseen.status, code: unseen.error?.code }).toEqual({ status: 404, code: 'PGRST205' });
    await stack.admin`notify pgrst, 'reload schema'`;
    expect(await eventually(async () => (await db.from('reload_silent').select('*')).status === 200)).toBe(true);
    expect((await db.from('reload_silent').select('id')).data).toEqual([{ id: 7 }]);
  });

  it('calls a function created after start, and forgets a dropped one', async () => {
    const db = stack.client();
    await stack.admin.unsafe(`create function public.reload_fn(x int) returns int language sql immutable as 'select x * 2'; grant execute on function public.reload_fn(int) to anon;`);
    expect(await eventually(async () => (await db.rpc('reload_fn', { x: 21 })).data === 42)).toBe(true);
    await stack.admin.unsafe(`drop function public.reload_fn(int)`);
    expect(await eventually(async () => (await db.rpc('reload_fn', { x: 21 })).error?.code === 'PGRST202')).toBe(true);
  });

  it("re-reads role settings on 'reload config' (and only then)", async () => {
    await stack.admin.unsafe(`create function public.reload_timeout() returns text language sql stable as $$select current_setting('statement_timeout')$$; grant execute on function public.reload_timeout() to anon;`);
    const db = stack.client();
    expect(await eventually(async () => (await db.rpc('reload_timeout')).status === 200)).toBe(true);
    const initial = (await db.rpc('reload_timeout')).data;
    await stack.admin.unsafe(`do $$ begin execute format('alter role anon in database %I set statement_timeout = %L', current_database(), '4321ms'); end $$`);
    await stack.admin`notify pgrst, 'reload schema'`;
    await stack.admin`select 1`;
    expect(await eventually(async () => (await db.rpc('reload_timeout')).status === 200)).toBe(true);
    await stack.dataApi.schemaReloaded();
    expect((await db.rpc('reload_timeout')).data).toBe(initial);
    await stack.admin`notify pgrst, 'reload config'`;
    expect(await eventually(async () => (await db.rpc('reload_timeout')).data === '4321ms')).toBe(true);
  });
});
