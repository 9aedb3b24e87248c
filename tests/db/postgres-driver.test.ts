/**
 * postgres.js 3.4.9 as patched by patches/postgres+3.4.9.patch: a statement sent inside
 * `sql.begin` after the server closed the transaction's connection (the next statement,
 * or postgres.js's own ROLLBACK) used to be written to a null socket from a timer
 * callback — an uncaught TypeError that ended the process (the functions' Deno process,
 * in tests/resilience/postgres-restart.test.ts). Now it is rejected like any statement on
 * a lost connection, and the pool connects afresh for the next one. Nor does such a
 * statement go to the socket the pool opened meanwhile on the same connection, where it
 * would have run outside the transaction, without the user's role and claims.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { isConnectionError } from '../../core/db/connection-errors.ts';
import { withRls } from '../../core/db/rls.ts';
import { adminSql, createUser, type Sql, type TestUser } from '../harness/db.ts';

const backendPid = (tx: postgres.TransactionSql) => tx`select pg_backend_pid() as pid` as unknown as Promise<[{ pid: number }]>;

let admin: Sql;
let pool: Sql;
let user: TestUser;

beforeAll(async () => {
  admin = adminSql({ max: 1 });
  pool = postgres(inject('databaseUrl'), { max: 1, onnotice: () => undefined });
  user = await createUser(admin);
  await admin`create schema if not exists driver_probe`;
  await admin`create table if not exists driver_probe.statements (name text)`;
});

afterAll(async () => {
  await admin`drop schema if exists driver_probe cascade`;
  await pool?.end({ timeout: 1 });
  await admin?.end();
});

it('rejects a statement sent after the transaction lost its connection, and the pool recovers', async () => {
  const outcome = await pool
    .begin(async (tx) => {
      const [{ pid }] = await backendPid(tx);
      await admin`select pg_terminate_backend(${pid})`;
      // Long enough for postgres.js to see the socket close before the next statement.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await tx`select 2`;
    })
    .then(() => 'committed', (error: unknown) => error);
  expect(isConnectionError(outcome), String(outcome)).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await pool`select 1 as ok`).toEqual([{ ok: 1 }]);
});

it('never runs a lost transaction\'s later statement on the connection the pool opens next', async () => {
  const name = `stale statement ${crypto.randomUUID()}`;
  const outcome = await pool
    .begin(async (tx) => {
      const [{ pid }] = await backendPid(tx);
      await admin`select pg_terminate_backend(${pid})`;
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Another request meanwhile: the pool (max 1) connects the same connection afresh.
      expect(await pool`select 1 as ok`).toEqual([{ ok: 1 }]);
      // Were this sent on the new socket it would run outside the transaction (for withRls:
      // without the user's role and claims) and commit on its own.
      return tx`insert into driver_probe.statements (name) values (${name})`;
    })
    .then(() => 'committed', (error: unknown) => error);
  expect(isConnectionError(outcome), String(outcome)).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await admin`select name from driver_probe.statements where name = ${name}`).toEqual([]);
});

it('serves withRls requests again after the connection was lost', async () => {
  const [{ pid }] = await backendPid(pool as unknown as postgres.TransactionSql);
  await admin`select pg_terminate_backend(${pid})`;
  await new Promise((resolve) => setTimeout(resolve, 100));
  const [row] = await withRls(pool, user.claims, (tx) => tx<{ uid: string }[]>`select auth.uid()::text as uid`);
  expect(row).toEqual({ uid: user.id });
});
