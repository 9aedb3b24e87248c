/**
 * End to end through the devstack gateway with supabase-js only: sign-up, projects,
 * invitations, presence, jobs and the cached listing, as two people would use them.
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { joinWorkspace, type OnlineMember, type Workspace, type WorkspaceServerEvents } from '../../client/index.ts';
import { startTestStack, type TestStack } from './stack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

/** Calls a function through supabase-js and returns status and JSON body, errors included. */
async function call(client: SupabaseClient, path: string, options: { method?: 'GET' | 'POST' | 'PATCH' | 'DELETE'; body?: unknown } = {}) {
  const { data, error, response } = await client.functions.invoke(path, { method: options.method ?? 'GET', body: options.body as never });
  if (error) {
    const context = (error as { context?: Response }).context;
    return { status: context?.status ?? 0, body: context ? await context.json() : null, headers: context?.headers };
  }
  return { status: response?.status ?? 200, body: data, headers: response?.headers };
}

async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('Alice and Bob share a workspace end to end', async () => {
  const stamp = Date.now().toString(36);
  const alice = stack.client();
  const bob = stack.client();
  const aliceEmail = `alice-${stamp}@e2e.tandem.dev`;
  const bobEmail = `bob-${stamp}@e2e.tandem.dev`;

  // Sign-up through local Auth.
  const aliceSignUp = await alice.auth.signUp({ email: aliceEmail, password: 'correct horse 1', options: { data: { display_name: 'Alice' } } });
  expect(aliceSignUp.error).toBeNull();
  const bobSignUp = await bob.auth.signUp({ email: bobEmail, password: 'correct horse 2', options: { data: { display_name: 'Bob' } } });
  expect(bobSignUp.error).toBeNull();
  const aliceId = aliceSignUp.data.user!.id;
  const bobId = bobSignUp.data.user!.id;

  // Alice's first listing is a miss, the second a hit.
  const empty = await call(alice, 'projects');
  expect(empty.status).toBe(200);
  expect(empty.body.data).toEqual([]);
  const created = await call(alice, 'projects', { method: 'POST', body: { name: 'Launch plan' } });
  expect(created.status).toBe(201);
  const projectId: string = created.body.id;
  const listed = await call(alice, 'projects');
  expect(listed.headers?.get('x-cache')).toBe('miss');
  expect(listed.body.data).toMatchObject([{ id: projectId, role: 'owner', member_count: 1 }]);
  // The worker's invalidator hears the creation from Postgres too (tandem_cache), after the
  // function's own invalidation and possibly after the fill above, so the listing becomes a
  // hit at the latest on the read after that notification.
  let cached: Awaited<ReturnType<typeof call>> | undefined;
  await expect.poll(async () => (cached = await call(alice, 'projects')).headers?.get('x-cache'), { timeout: 5_000, interval: 50 }).toBe('hit');
  expect(cached?.body.data[0].member_count).toBe(1);

  // Alice invites Bob as a viewer; Bob sees the invitation and accepts it.
  const invitation = await call(alice, `projects/${projectId}/invitations`, { method: 'POST', body: { email: bobEmail, role: 'viewer' } });
  expect(invitation.status).toBe(201);
  expect(invitation.body).toMatchObject({ email: bobEmail, role: 'viewer' });
  const mine = await call(bob, 'projects/invitations/mine');
  expect(mine.body.data).toMatchObject([{ project_id: projectId, role: 'viewer' }]);
  const accepted = await call(bob, 'projects/invitations/accept', { method: 'POST', body: { token: invitation.body.token } });
  expect(accepted.status).toBe(200);

  // Alice's cached listing refreshes once Bob is a member (the worker's invalidator).
  await until('Alice to list 2 members', async () => {
    const again = await call(alice, 'projects');
    return again.body.data[0]?.member_count === 2;
  });
  const bobListing = await call(bob, 'projects');
  expect(bobListing.body.data).toMatchObject([{ id: projectId, role: 'viewer', member_count: 2 }]);

  // Both join the workspace channel and see each other online.
  const bobSeesJobs: WorkspaceServerEvents['job_updated'][] = [];
  let aliceMembers: OnlineMember[] = [];
  let bobMembers: OnlineMember[] = [];
  const aliceWorkspace: Workspace = await joinWorkspace(alice, projectId, { sync: (members) => (aliceMembers = members) });
  const bobWorkspace: Workspace = await joinWorkspace(
    bob,
    projectId,
    { sync: (members) => (bobMembers = members), job_updated: (job) => bobSeesJobs.push(job) },
  );
  await until('both to see each other online', () =>
    [aliceMembers, bobMembers].every((members) => members.map((m) => m.user_id).sort().join() === [aliceId, bobId].sort().join()),
  );

  // Bob (viewer) may not submit a job; Alice (owner) may, and Bob watches it to the end.
  const refused = await call(bob, 'jobs', { method: 'POST', body: { project_id: projectId, type: 'diagnostic.sleep', payload: { ms: 10 } } });
  expect(refused.status).toBe(403);
  expect(refused.body.error.code).toBe('forbidden');
  const submitted = await call(alice, 'jobs', { method: 'POST', body: { project_id: projectId, type: 'diagnostic.sleep', payload: { ms: 600 } } });
  expect(submitted.status).toBe(202);
  const jobId: string = submitted.body.id;
  await until('Bob to see the job succeed', () => bobSeesJobs.some((job) => job.id === jobId && job.status === 'succeeded'), 30_000);
  const statuses = bobSeesJobs.filter((job) => job.id === jobId).map((job) => job.status);
  expect(statuses.indexOf('running')).toBeGreaterThanOrEqual(0);
  expect(statuses.at(-1)).toBe('succeeded');
  const final = await call(bob, `jobs/${jobId}`);
  expect(final.body).toMatchObject({ id: jobId, status: 'succeeded', progress: 100 });

  await bobWorkspace.leave();
  await until('Alice to see Bob leave', () => aliceMembers.length === 1 && aliceMembers[0]?.user_id === aliceId);
  await aliceWorkspace.leave();
  await Promise.all([alice.auth.signOut(), bob.auth.signOut()]);
}, 120_000);
