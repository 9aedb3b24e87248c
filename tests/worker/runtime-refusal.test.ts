/**
 * A Redis that starts refusing the worker after it started (here: its ACL user loses the
 * scripting commands, as an operator's ACL change or a managed service's command policy
 * would do): BullMQ's stalled-job check (a script, every `stalledIntervalMs`) answers
 * NOPERM, /health turns 503 with the refusal as its reason, the error is logged once per
 * interval with a count of the ones not logged (core/log-repeats.ts), and /health is 200
 * again once the ACL is fixed and the refusal has aged out (REDIS_REFUSAL_MEMORY_MS).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import type { RedisClient } from '../../core/redis/connection.ts';
import { startRedisServer, type RedisServer } from '../../devstack/redis/server.ts';
import { REDIS_REFUSAL_MEMORY_MS, startWorker, type RunningWorker } from '../../worker/src/worker.ts';
import { openTestRedis } from '../harness/redis.ts';
import { testConfig, usePrivateDatabase, waitFor } from './helpers.ts';

const db = usePrivateDatabase();
let server: RedisServer | undefined;
let admin: RedisClient | undefined;
let worker: RunningWorker | undefined;
afterAll(async () => {
  await worker?.stop();
  admin?.disconnect();
  await server?.stop();
});

describe('a refusal after start', () => {
  it('NOPERM on the worker’s scripts: 503 with the reason, one log line per interval with a count, 200 once fixed', async () => {
    server = await startRedisServer();
    admin = await openTestRedis(server.url);
    await admin.call('ACL', 'SETUSER', 'tandem', 'on', '>app-pass', '~*', '&*', '+@all');
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ service: 'worker-test' }, { level: 'info', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const redisUrl = server.url.replace('redis://', 'redis://tandem:app-pass@');
    worker = await startWorker(testConfig(db.url, { redisUrl, stalledIntervalMs: 500 }), { log });
    const health = async () => {
      const response = await fetch(`http://127.0.0.1:${worker!.port}/health`);
      return { status: response.status, body: (await response.json()) as { status: string; redis: boolean; reason?: string } };
    };
    expect((await health()).status).toBe(200);

    await admin.call('ACL', 'SETUSER', 'tandem', '-@scripting');
    const refused = await waitFor(async () => {
      const answer = await health();
      return answer.status === 503 ? answer : undefined;
    }, 'the worker to report the refusal', 15_000);
    expect(refused.body).toMatchObject({ status: 'degraded', redis: false });
    expect(refused.body.reason).toMatch(/^Redis refused a command \d+ s ago: NOPERM/);

    // BullMQ retries the failing check (every 500 ms, backing off): over one 10 s interval
    // and a bit, several failures but two lines, the second counting the ones in between.
    const errors = () => lines.filter((line) => line.msg === 'bullmq_worker_error');
    await waitFor(async () => errors().length >= 2, 'the second interval’s line', 15_000);
    const [first, second] = errors();
    expect(first!.error).toMatch(/NOPERM/);
    expect(first!.repeated).toBeUndefined();
    expect(second!.repeated).toBeGreaterThanOrEqual(1);
    expect(second!.interval_ms).toBe(10_000);
    expect(Number(new Date(second!.ts as string)) - Number(new Date(first!.ts as string))).toBeGreaterThanOrEqual(10_000);
    expect(errors()).toHaveLength(2);

    await admin.call('ACL', 'SETUSER', 'tandem', '+@all');
    const fixedAt = Date.now();
    // Still 503 while the last refusal is recent...
    expect((await health()).status).toBe(503);
    // ... and 200 once it has aged out, with no new refusal in between.
    const healthy = await waitFor(async () => {
      const answer = await health();
      return answer.status === 200 ? answer : undefined;
    }, 'the worker to report healthy again', REDIS_REFUSAL_MEMORY_MS + 20_000);
    expect(healthy.body).toMatchObject({ status: 'ok', redis: true });
    expect(healthy.body.reason).toBeUndefined();
    // Not before the memory of the last refusal ran out (BullMQ retried every few seconds
    // until the fix, so the last one was seen shortly before it).
    expect(Date.now() - fixedAt).toBeGreaterThanOrEqual(REDIS_REFUSAL_MEMORY_MS / 2);
  }, REDIS_REFUSAL_MEMORY_MS + 60_000);
});
