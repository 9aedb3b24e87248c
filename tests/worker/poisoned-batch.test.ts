/**
 * One bad job never takes its batch down. A test-only handler makes a batch of jobs end at
 * the same moment (a barrier), some with a result jsonb cannot hold (BigInt, cycle, lone
 * surrogate, NUL), one with a result a test-only trigger refuses in Postgres (so the
 * batched write fails anyway and must be split), and some throwing odd values (null,
 * undefined, 42, a symbol, Object.create(null), an object whose toString throws, an error
 * text with NUL). Every healthy job succeeds; every bad one fails with its own cause; each
 * handler runs exactly once; the worker logs what happened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import type { JobHandler } from '../../worker/src/jobs/types.ts';
import { startWorker, type RunningWorker } from '../../worker/src/worker.ts';
import { privateDatabase } from '../harness/database.ts';
import type { Sql } from '../harness/db.ts';
import { connect, createProject, insertJob, readJob, testConfig, waitFor } from './helpers.ts';

/** Behaviour by `payload.ms` (diagnostic.sleep's schema is the one the payload must pass). */
const circular: Record<string, unknown> = { name: 'loop' };
circular.self = circular;
const throwingToString = { toString: () => { throw new Error('no text for you'); } };
const bad: Record<number, { kind: 'return' | 'throw'; value: () => unknown; error: RegExp }> = {
  1: { kind: 'return', value: () => ({ big: 10n }), error: /^attempt 1\/3: the job's result cannot be stored: the result at "big" is a BigInt/ },
  2: { kind: 'return', value: () => circular, error: /^attempt 1\/3: the job's result cannot be stored: the result refers back to itself/ },
  3: { kind: 'return', value: () => ({ text: 'half \uD83D pair' }), error: /^attempt 1\/3: the job's result cannot be stored: the result at "text" contains an unpaired UTF-16 surrogate/ },
  4: { kind: 'return', value: () => ({ text: 'nul\u0000inside' }), error: /^attempt 1\/3: the job's result cannot be stored: the result at "text" contains a NUL character/ },
  5: { kind: 'return', value: () => ({ poison: true }), error: /^attempt 1\/3: the job's result could not be stored: .*refused by the test trigger/ },
  11: { kind: 'throw', value: () => new Error('bad\u0000byte'), error: /^attempt 1\/1: bad\\0byte$/ },
  12: { kind: 'throw', value: () => null, error: /^attempt 1\/1: the handler threw null instead of an Error$/ },
  13: { kind: 'throw', value: () => undefined, error: /^attempt 1\/1: the handler threw undefined instead of an Error$/ },
  14: { kind: 'throw', value: () => 42, error: /^attempt 1\/1: the handler threw number 42 instead of an Error$/ },
  15: { kind: 'throw', value: () => Symbol('odd'), error: /^attempt 1\/1: the handler threw a symbol \(odd\) instead of an Error$/ },
  16: { kind: 'throw', value: () => Object.create(null), error: /^attempt 1\/1: the handler threw a non-Error object that has no message$/ },
  17: { kind: 'throw', value: () => throwingToString, error: /^attempt 1\/1: the handler threw a non-Error object that has no message$/ },
  18: { kind: 'throw', value: () => new Error('an honest failure'), error: /^attempt 1\/1: an honest failure$/ },
};
const healthy = Array.from({ length: 9 }, (_, index) => 1000 + index);
const total = Object.keys(bad).length + healthy.length;

const runs = new Map<string, number>();
let started = 0;
const poisonHandler: JobHandler<{ ms: number }> = async ({ payload, job }) => {
  runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
  started++;
  // Everyone ends together, so their status writes share batches.
  const deadline = Date.now() + 10_000;
  while (started < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  const behaviour = bad[payload.ms];
  if (!behaviour) return { n: payload.ms };
  const value = behaviour.value();
  if (behaviour.kind === 'throw') throw value;
  return value;
};

let db: Awaited<ReturnType<typeof privateDatabase>>;
let sql: Sql;
let worker: RunningWorker;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  db = await privateDatabase();
  sql = connect(db.url);
  // A write Postgres itself refuses for one row (normalization cannot foresee it): the
  // batched UPDATE fails as a whole and must be split to find the row.
  await sql.unsafe(`
    create function public.test_refuse_poison() returns trigger language plpgsql as $$
    begin
      if new.result ? 'poison' then raise exception 'result refused by the test trigger'; end if;
      return new;
    end $$;
    create trigger test_refuse_poison before update on public.jobs for each row execute function public.test_refuse_poison();`);
  const log = createLogger({ service: 'worker-test' }, { level: 'info', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  worker = await startWorker(testConfig(db.url, { concurrency: total + 5, writeBatchMs: 20, stalledIntervalMs: 500 }), {
    log,
    handlers: new Map([['diagnostic.sleep', poisonHandler as JobHandler<never>]]),
  });
});
afterAll(async () => {
  await worker?.stop();
  await sql?.end();
  await db?.drop();
});

describe('a poisoned batch', () => {
  it('ends every job once, with its real cause, and writes the healthy ones', async () => {
    const { projectId } = await createProject(sql);
    const ids = new Map<number, string>();
    for (const ms of [...Object.keys(bad).map(Number), ...healthy]) {
      ids.set(ms, await insertJob(sql, projectId, 'diagnostic.sleep', { ms }, { maxAttempts: ms > 10 && ms < 1000 ? 1 : 3 }));
    }
    await waitFor(async () => {
      const rows = await sql<{ n: number }[]>`
        select count(*)::int as n from public.jobs where project_id = ${projectId} and status in ('succeeded', 'failed')`;
      return rows[0]!.n === total;
    }, 'every job to end', 30_000);
    // Long enough for a stalled-job check or a retry to run anything a second time.
    await new Promise((resolve) => setTimeout(resolve, 1500));

    for (const ms of healthy) {
      const row = await readJob(sql, ids.get(ms)!);
      expect(row).toMatchObject({ status: 'succeeded', attempts: 1, result: { n: ms }, error: null });
    }
    for (const [ms, behaviour] of Object.entries(bad)) {
      const row = await readJob(sql, ids.get(Number(ms))!);
      expect(row.status, `job ${ms}`).toBe('failed');
      expect(row.attempts, `job ${ms}`).toBe(1);
      expect(row.result, `job ${ms}`).toBeNull();
      expect(row.error, `job ${ms}`).toMatch(behaviour.error);
    }
    expect([...ids.values()].map((id) => runs.get(id))).toEqual(Array.from({ length: total }, () => 1));

    const messages = (msg: string) => lines.filter((line) => line.msg === msg);
    expect(messages('job_succeeded')).toHaveLength(healthy.length);
    expect(messages('job_failed')).toHaveLength(Object.keys(bad).length);
    expect(messages('job_result_unstorable')).toHaveLength(5);
    const splits = messages('status_write_split');
    expect(splits.length).toBeGreaterThanOrEqual(1);
    expect(splits.every((line) => line.transition === 'succeed')).toBe(true);
    expect(JSON.stringify(splits[0])).toContain('refused by the test trigger');
    expect(messages('status_write_failed')).toHaveLength(0);
    console.info(
      `poisoned batch: ${total} jobs, ${[...runs.values()].reduce((a, b) => a + b, 0)} handler runs, ` +
        `${splits.length} split(s) of sizes ${splits.map((line) => line.batch_size).join(',')}, ` +
        `${messages('job_failed').length} job_failed, ${messages('job_result_unstorable').length} job_result_unstorable log lines`,
    );
  });
});
