/**
 * withRls: the user's role, claims and extra settings hold inside the transaction; single
 * statements and multi-step callbacks commit; a failure rolls everything back and reaches
 * the caller.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setRequestSettings, withRls, type TransactionSql } from '../../core/db/rls.ts';
import { adminSql, createUser, type Sql, type TestUser } from '../harness/db.ts';

let sql: Sql;
let user: TestUser;

beforeAll(async () => {
  sql = adminSql({ max: 2 });
  user = await createUser(sql);
});

afterAll(async () => {
  await sql?.end();
});

const projectsNamed = async (name: string) =>
  (await sql<{ n: number }[]>`select count(*)::int as n from public.projects where name = ${name}`)[0]!.n;

describe('withRls', () => {
  it('runs as the user with their claims and the extra settings, transaction-locally', async () => {
    const [inside] = await withRls(sql, user.claims, (tx) =>
      tx<{ role: string; uid: string; extra: string }[]>`
        select current_user::text as role, auth.uid()::text as uid, current_setting('tandem.test_setting', true) as extra`,
      { settings: { 'tandem.test_setting': 'on' } });
    expect(inside).toEqual({ role: 'authenticated', uid: user.id, extra: 'on' });
    const [after] = await sql<{ extra: string | null }[]>`select nullif(current_setting('tandem.test_setting', true), '') as extra`;
    expect(after!.extra).toBeNull();
  });

  it('commits a single statement and a multi-step callback', async () => {
    const single = `with-rls single ${user.id}`;
    const steps = `with-rls steps ${user.id}`;
    await withRls(sql, user.claims, (tx) => tx`insert into public.projects (name) values (${single})`);
    await withRls(sql, user.claims, async (tx) => {
      await tx`insert into public.projects (name) values (${steps})`;
      return tx`update public.projects set description = 'second step' where name = ${steps}`;
    });
    expect(await projectsNamed(single)).toBe(1);
    const [row] = await sql<{ description: string }[]>`select description from public.projects where name = ${steps}`;
    expect(row!.description).toBe('second step');
  });

  it('rolls back and throws when a single statement fails', async () => {
    await expect(withRls(sql, user.claims, (tx) => tx`insert into public.jobs (project_id, type) values (gen_random_uuid(), 'demo.echo')`))
      .rejects.toMatchObject({ code: '42501' });
  });

  it('rolls back when the callback throws after writing', async () => {
    const name = `with-rls thrown ${user.id}`;
    await expect(
      withRls(sql, user.claims, async (tx) => {
        await tx`insert into public.projects (name) values (${name})`;
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await projectsNamed(name)).toBe(0);
  });
});

describe('setRequestSettings', () => {
  it('sets role, claims and the extra settings for the transaction only; a null extra is reset', async () => {
    const claims = { role: 'anon', iss: 'supabase' };
    const [inside] = await sql.begin(async (tx) => {
      await tx`select set_config('tandem.test_reset', 'before', true)`;
      await setRequestSettings(tx as TransactionSql, { role: 'anon', claims, settings: { 'tandem.test_setting': 'on', 'tandem.test_reset': null } });
      return tx<{ role: string; claims: unknown; extra: string; reset: string | null }[]>`
        select current_user::text as role, current_setting('request.jwt.claims', true)::jsonb as claims,
               current_setting('tandem.test_setting', true) as extra, nullif(current_setting('tandem.test_reset', true), '') as reset`;
    });
    expect(inside).toEqual({ role: 'anon', claims, extra: 'on', reset: null });
    const [after] = await sql<{ claims: string | null }[]>`select nullif(current_setting('request.jwt.claims', true), '') as claims`;
    expect(after!.claims).toBeNull();
  });

  it('takes any text in claims and settings as it is, quotes, backslashes and dollar quotes included', async () => {
    // The settings reach SQL as a dollar-quoted literal (core/db/rls.ts jsonLiteral): none
    // of these may end the quote or change the value.
    const hostile = `it's $tandem$ $$ $1 \\' \\u0024 "quoted" ') ; select 1; -- é 😀 \t`;
    const claims = { role: 'anon', email: hostile, [`key $tandem$ '`]: hostile };
    const [inside] = await sql.begin(async (tx) => {
      await setRequestSettings(tx as TransactionSql, { role: 'anon', claims, settings: { 'tandem.test_setting': hostile } });
      return tx<{ claims: string; extra: string }[]>`
        select current_setting('request.jwt.claims', true) as claims, current_setting('tandem.test_setting', true) as extra`;
    });
    expect(inside!.extra).toBe(hostile);
    expect(JSON.parse(inside!.claims)).toEqual(JSON.parse(JSON.stringify(claims)));
  });
});
