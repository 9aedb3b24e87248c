/**
 * 200 concurrent clients sending a mix of valid and invalid requests for a minute
 * (TANDEM_LOAD_SECONDS overrides): no 5xx at all, and the functions' memory stays flat.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { tokenFor } from '../functions/helpers.ts';
import { JWT_SECRET, report, startResilienceStack, type ResilienceStack } from './stack.ts';

let stack: ResilienceStack;
beforeAll(async () => {
  stack = await startResilienceStack({ worker: 'in-process' });
});
afterAll(async () => {
  await stack?.stop();
});

/** Resident memory (kB) of the Deno function processes this test process started. */
function functionsRssKb(): number {
  const out = execFileSync('ps', ['--ppid', String(process.pid), '-o', 'rss=,comm='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes('deno'))
    .reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[0]), 0);
}

test('200 concurrent clients with valid and invalid requests: no 5xx, memory stable', async () => {
  const seconds = Number(process.env.TANDEM_LOAD_SECONDS ?? 60);
  const base = stack.functions.url;
  const token = stack.ownerToken;
  const expired = await tokenFor(stack.owner, { secret: JWT_SECRET, expiresIn: -60 });
  const auth = { authorization: `Bearer ${token}` };
  const json = { ...auth, 'content-type': 'application/json' };
  const requests: (() => Promise<Response>)[] = [
    () => fetch(`${base}/projects`, { headers: auth }),
    () => fetch(`${base}/projects/${stack.projectId}`, { headers: auth }),
    () => fetch(`${base}/jobs?project_id=${stack.projectId}&limit=5`, { headers: auth }),
    () => fetch(`${base}/jobs`, { method: 'POST', headers: json, body: JSON.stringify({ project_id: stack.projectId, type: 'diagnostic.sleep', payload: { ms: 0 } }) }),
    () => fetch(`${base}/projects`, { method: 'POST', headers: json, body: '{"name": "trunc' }),
    () => fetch(`${base}/projects`, { headers: { authorization: `Bearer ${expired}` } }),
    () => fetch(`${base}/projects/not-a-uuid`, { headers: auth }),
    () => fetch(`${base}/jobs`, { method: 'POST', headers: json, body: JSON.stringify({ project_id: stack.projectId, type: 'nope', payload: {} }) }),
    () => fetch(`${base}/projects/%E0%A4%A`, { headers: auth }),
    () => fetch(`${base}/projects`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'x' }),
    () => fetch(`${base}/jobs/${crypto.randomUUID()}`, { headers: auth }),
    () => fetch(`${base}/projects/health`),
  ];
  const byClass: Record<string, number> = {};
  const fiveHundreds: string[] = [];
  let total = 0;
  const warmupRss: number[] = [];
  const endAt = Date.now() + seconds * 1000;
  const sampler = setInterval(() => warmupRss.push(functionsRssKb()), 2000);
  await Promise.all(
    Array.from({ length: 200 }, async (_, client) => {
      let i = client;
      while (Date.now() < endAt) {
        const pick = requests[i++ % requests.length] as () => Promise<Response>;
        try {
          const response = await pick();
          await response.arrayBuffer();
          total++;
          const cls = `${Math.floor(response.status / 100)}xx`;
          byClass[cls] = (byClass[cls] ?? 0) + 1;
          if (response.status >= 500) fiveHundreds.push(`${response.status} ${response.url}`);
        } catch (error) {
          byClass.network = (byClass.network ?? 0) + 1;
        }
      }
    }),
  );
  clearInterval(sampler);
  const samples = warmupRss.filter((kb) => kb > 0);
  // After the first third of the run the processes are warm (V8 heaps grown, pools full).
  const early = samples[Math.floor(samples.length / 3)] ?? 0;
  const late = samples.at(-1) ?? 0;
  report('load', { seconds, clients: 200, requests: total, by_class: byClass, five_xx: fiveHundreds.length, rss_mb_early: Math.round(early / 1024), rss_mb_end: Math.round(late / 1024), rss_mb_samples: samples.map((kb) => Math.round(kb / 1024)) });
  expect(fiveHundreds.slice(0, 5)).toEqual([]);
  expect(byClass.network ?? 0).toBe(0);
  expect(total).toBeGreaterThan(1000);
  // Memory stable: over the last two thirds the functions grow by less than half of their
  // warm size (a leak of one request's garbage per request would double it).
  expect(late).toBeLessThan(early * 1.5);
});
