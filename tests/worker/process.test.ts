/**
 * The worker as a process (`worker/src/main.ts`, as `npm run worker` starts it): a bad
 * configuration is refused with a clear message; SIGKILL mid-job loses nothing (after a
 * restart every job ends, none stays running); SIGTERM stops taking jobs and lets the
 * active ones finish.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../devstack/db/setup.ts';
import type { Sql } from '../harness/db.ts';
import { privateDatabase } from '../harness/database.ts';
import { connect, createProject, insertJob, readJob, waitFor } from './helpers.ts';
import { runRedisUrl } from '../harness/redis.ts';

let db: Awaited<ReturnType<typeof privateDatabase>>;
let sql: Sql;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await privateDatabase();
  sql = connect(db.url);
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await sql?.end();
  await db?.drop();
});

interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  waitForLog: (message: string) => Promise<void>;
  exited: Promise<number | null>;
}

function spawnWorker(env: Record<string, string>): WorkerProcess {
  // `node --import tsx` is what `tsx worker/src/main.ts` runs, minus tsx's supervising
  // parent process, so a signal reaches the worker itself (a SIGKILL cannot be relayed).
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/src/main.ts'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    waitForLog: (message) => waitFor(async () => output.includes(`"msg":"${message}"`), `the worker to log ${message}`, 30_000).then(() => undefined),
  };
}

function workerEnv(extra: Record<string, string> = {}): Record<string, string> {
  const suffix = randomUUID().slice(0, 8);
  return {
    DATABASE_URL: db.url,
    REDIS_URL: runRedisUrl(13),
    PORT: '0',
    TANDEM_WORKER_NAME: `tp-${suffix}`,
    TANDEM_REDIS_PREFIX: `{test-${suffix}}`,
    TANDEM_WORKER_LOCK_DURATION_MS: '2000',
    TANDEM_WORKER_STALLED_INTERVAL_MS: '1000',
    TANDEM_WORKER_PROGRESS_INTERVAL_MS: '50',
    TANDEM_WORKER_SWEEP_INTERVAL_MS: '60000',
    // The jobs here are diagnostic.sleep (on in tests).
    TANDEM_DIAGNOSTIC_JOBS: 'on',
    ...extra,
  };
}

describe('worker process', () => {
  it('refuses a bad configuration with a message naming each bad variable (exit 2)', async () => {
    const bad = spawnWorker({ DATABASE_URL: 'mysql://nope', TANDEM_WORKER_CONCURRENCY: 'many' });
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain('invalid worker configuration');
    expect(bad.output()).toMatch(/DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(bad.output()).toMatch(/TANDEM_WORKER_CONCURRENCY: .*number/);
  });

  it('SIGKILL mid-job: after a restart every job reaches a final state and none stays running', async () => {
    const env = workerEnv();
    const first = spawnWorker(env);
    await first.waitForLog('worker_started');
    const { projectId } = await createProject(sql);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 1500 }));
    await waitFor(async () => {
      const rows = await sql`select 1 from public.jobs where id = any(${ids}::uuid[]) and status = 'running' and progress > 0`;
      return rows.length === 3;
    }, 'three jobs running');
    first.child.kill('SIGKILL');
    await first.exited;
    for (const id of ids) expect((await readJob(sql, id)).status).toBe('running');

    const second = spawnWorker(env);
    await second.waitForLog('worker_started');
    const rows = await waitFor(async () => {
      const found = await sql<{ status: string; attempts: number }[]>`
        select status, attempts from public.jobs where id = any(${ids}::uuid[]) and status not in ('queued', 'running')`;
      return found.length === ids.length ? found : undefined;
    }, 'every job to end after the restart', 40_000);
    expect(rows.map((row) => row.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(rows.map((row) => row.attempts)).toEqual([2, 2, 2]); // the killed attempt counts
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('SIGTERM drains: the active job finishes, no new job is taken, exit 0', async () => {
    const worker = spawnWorker(workerEnv());
    await worker.waitForLog('worker_started');
    const { projectId } = await createProject(sql);
    const active = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 1500 });
    await waitFor(async () => (await readJob(sql, active)).status === 'running', 'the job to run');
    worker.child.kill('SIGTERM');
    await worker.waitForLog('worker_stopping');
    const late = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 1 });
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain('"msg":"worker_stopped"');
    expect((await readJob(sql, active)).status).toBe('succeeded');
    expect((await readJob(sql, late)).status).toBe('queued');
  });

  it('SIGTERM with a job longer than the shutdown timeout: exits anyway, and the job runs again after a restart', async () => {
    const env = workerEnv({ TANDEM_WORKER_SHUTDOWN_TIMEOUT_MS: '300' });
    const worker = spawnWorker(env);
    await worker.waitForLog('worker_started');
    const { projectId } = await createProject(sql);
    const id = await insertJob(sql, projectId, 'diagnostic.sleep', { ms: 2000 });
    await waitFor(async () => (await readJob(sql, id)).status === 'running', 'the job to run');
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain('"msg":"shutdown_timeout"');
    expect((await readJob(sql, id)).status).toBe('running');

    const again = spawnWorker(env);
    await again.waitForLog('worker_started');
    const row = await waitFor(async () => {
      const current = await readJob(sql, id);
      return current.status === 'running' ? undefined : current;
    }, 'the job to end after the restart', 40_000);
    expect(row).toMatchObject({ status: 'succeeded', attempts: 2 });
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });
});
