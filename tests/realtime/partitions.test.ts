/**
 * A database whose realtime.messages partitions are days old (Realtime was not running):
 * the local Realtime creates the current partitions at start and drops the expired ones,
 * as Supabase Realtime's janitor does, and events flow again. Runs on its own database so
 * the shared one is never left without partitions.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { setupDatabase } from '../../devstack/db/setup.ts';
import { maintainPartitions } from '../../devstack/realtime/partitions.ts';
import { createLogger } from '../../core/log.ts';
import { createUser } from '../harness/db.ts';
import { connectClient, createProject, eventually, startRealtime, subscribe, userToken, type StartedRealtime, type TestClient } from './helpers.ts';

const databaseName = `realtime_partitions_${randomUUID().slice(0, 8)}`;
const adminUrl = inject('databaseUrl');
const url = (() => {
  const parsed = new URL(adminUrl);
  parsed.pathname = `/${databaseName}`;
  return parsed.toString();
})();
let sql: postgres.Sql<Record<string, unknown>>;
let realtime: StartedRealtime | undefined;
let client: TestClient | undefined;

function day(offset: number): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + offset)).toISOString().slice(0, 10);
}

async function partitions(): Promise<string[]> {
  const rows = await sql<{ relname: string }[]>`
    select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'realtime.messages'::regclass order by 1`;
  return rows.map((row) => row.relname);
}

beforeAll(async () => {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${databaseName}`);
  await admin.end();
  await setupDatabase({ url });
  sql = postgres(url, { max: 2, onnotice: () => undefined });
  for (const name of await partitions()) await sql.unsafe(`drop table realtime.${name}`);
  for (const offset of [-6, -5, -4]) {
    const name = `messages_${day(offset).replaceAll('-', '_')}`;
    await sql.unsafe(`create table realtime.${name} partition of realtime.messages for values from ('${day(offset)}') to ('${day(offset + 1)}')`);
  }
}, 120_000);

afterAll(async () => {
  await client?.supabase.removeAllChannels();
  await realtime?.server.close();
  await sql.end();
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`drop database if exists ${databaseName} with (force)`);
  await admin.end();
});

it('creates the current partitions at start, drops expired ones, and delivers events', async () => {
  expect(await partitions()).toEqual([-6, -5, -4].map((offset) => `messages_${day(offset).replaceAll('-', '_')}`));
  realtime = await startRealtime({ databaseUrl: url });
  expect(await partitions()).toEqual([-1, 0, 1, 2, 3].map((offset) => `messages_${day(offset).replaceAll('-', '_')}`));

  const member = await createUser(sql as never);
  const projectId = await createProject(sql as never, [[member, 'owner']]);
  client = await connectClient(realtime.baseUrl, await userToken(member));
  const channel = client.supabase.channel(`project:${projectId}:events`, { config: { private: true } });
  const events: string[] = [];
  channel.on('broadcast', { event: '*' }, ({ event }) => events.push(event));
  expect((await subscribe(channel)).status).toBe('SUBSCRIBED');
  await sql`update public.projects set description = 'fresh partitions' where id = ${projectId}`;
  await eventually('project_updated', () => events.includes('project_updated'));

  // The next day's run (the server repeats it every few hours) adds a day and retires none yet.
  const tomorrow = new Date(Date.now() + 86_400_000);
  const result = await maintainPartitions(sql as never, createLogger({}, { write: () => undefined }), tomorrow);
  expect(result).toEqual({ created: [`messages_${day(4).replaceAll('-', '_')}`], dropped: [] });
  // Four days on, yesterday's partition is older than 72 hours and goes.
  const later = await maintainPartitions(sql as never, createLogger({}, { write: () => undefined }), new Date(Date.now() + 3 * 86_400_000));
  expect(later.dropped).toEqual([`messages_${day(-1).replaceAll('-', '_')}`]);
});
