/**
 * The browser console in Debian's Chromium (playwright-core): two people sign in, see each
 * other online in their shared workspace, and watch a job's progress bar reach 100%.
 * And an invitation as a newcomer lives it: the owner invites from the console, the mail
 * (read from the catcher's API) carries a link that opens the console and joins once the
 * invitee has signed up; another invitee accepts from their list; a profile edit shows in
 * the owner's member list. Jobs are cancelled and retried, invitations revoked and projects
 * created from the console, and an RPC's error reaches the page. A screenshot is kept in test-artifacts/console.png.
 * The console's requests are recorded: tables and RPCs go to the Data API (/rest/v1), and
 * only the cached listing and job submission to the functions.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { repoRoot } from '../../devstack/db/setup.ts';
import { startTestStack, type TestStack } from './stack.ts';

const APOLLO = 'a0000000-0000-4000-8000-0000000000a1';
const artifacts = join(repoRoot, 'test-artifacts');

let stack: TestStack;
let browser: Browser;
beforeAll(async () => {
  stack = await startTestStack();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run',
      '--disable-component-update', '--disable-sync'],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** "METHOD /path" of every request each page made to the stack, in order. */
const requests = new WeakMap<Page, string[]>();
async function openPage(url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const seen: string[] = [];
  requests.set(page, seen);
  page.on('request', (request) => {
    const target = new URL(request.url());
    if (target.origin === new URL(stack.url).origin) seen.push(`${request.method()} ${target.pathname}`);
  });
  await page.goto(url);
  return page;
}

/** Calls to the functions: only the cached listing and job submission are left there. */
function functionCalls(page: Page): string[] {
  return requests.get(page)!.filter((line) => line.includes('/functions/v1/'));
}

async function signIn(email: string): Promise<Page> {
  const page = await openPage(`${stack.url}/`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', 'password123');
  await page.click('button[value=sign-in]');
  await page.locator(`[data-testid=projects] li[data-project-id="${APOLLO}"]`).click();
  return page;
}

test('two people see each other online, a job progress bar reaches 100%, a job is cancelled and retried, a project is created', async () => {
  const alice = await signIn('alice@example.com');
  const bob = await signIn('bob@example.com');

  for (const page of [alice, bob]) {
    await expect.poll(() => page.locator('[data-testid=online] .avatar').count(), { timeout: 20_000 }).toBe(2);
  }
  expect(await alice.locator('[data-testid=role]').textContent()).toBe('owner');
  expect(await bob.locator('[data-testid=role]').textContent()).toBe('collaborator');

  await alice.fill('#submit-job input[name=ms]', '1500');
  await alice.click('[data-testid=submit-job]');
  for (const page of [alice, bob]) {
    await expect
      .poll(() => page.locator('[data-testid=jobs] li[data-status=succeeded] .progress').getAttribute('data-progress'), { timeout: 30_000 })
      .toBe('100');
  }

  // A long job: Alice cancels it, retries it (a new run) and cancels it again, by RPC.
  const before = await alice.locator('[data-testid=jobs] li').count();
  await alice.fill('#submit-job input[name=ms]', '120000');
  await alice.click('[data-testid=submit-job]');
  await expect.poll(() => alice.locator('[data-testid=jobs] li').count(), { timeout: 10_000 }).toBe(before + 1);
  const long = alice.locator('[data-testid=jobs] li').first();
  const action = long.locator('.job-action');
  await expect.poll(() => action.getAttribute('data-action'), { timeout: 10_000 }).toBe('cancel');
  await action.click();
  await expect.poll(() => long.getAttribute('data-status'), { timeout: 20_000 }).toBe('cancelled');
  await expect.poll(() => action.getAttribute('data-action')).toBe('retry');
  await action.click();
  await expect.poll(() => long.getAttribute('data-status'), { timeout: 10_000 }).toMatch(/^(queued|running)$/);
  await expect.poll(() => action.getAttribute('data-action')).toBe('cancel');
  await action.click();
  await expect.poll(() => long.getAttribute('data-status'), { timeout: 20_000 }).toBe('cancelled');
  // Bob, a collaborator, sees it cancelled too; retrying Alice's job is refused (42501 → 403)
  // and the RPC's message is what the page shows.
  const onBob = bob.locator(`[data-testid=jobs] li[data-job-id="${await long.getAttribute('data-job-id')}"]`);
  await expect.poll(() => onBob.getAttribute('data-status'), { timeout: 20_000 }).toBe('cancelled');
  await onBob.locator('.job-action').click();
  await expect.poll(() => bob.locator('#error').textContent(), { timeout: 10_000 }).toBe('you may not retry this job');

  // A new project, inserted through the Data API, shows in the (cached) listing as Alice's.
  const name = `Gemini ${Date.now().toString(36)}`;
  await alice.fill('#create-project input[name=name]', name);
  await alice.click('#create-project button[type=submit]');
  const created = alice.locator('[data-testid=projects] li', { hasText: name });
  await expect.poll(() => created.count(), { timeout: 10_000 }).toBe(1);
  expect(await created.locator('.badge').textContent()).toBe('owner');

  const seen = requests.get(alice)!;
  expect(seen).toEqual(expect.arrayContaining([
    'POST /rest/v1/projects', 'GET /rest/v1/jobs', 'GET /rest/v1/project_members', 'GET /rest/v1/profiles',
    'GET /rest/v1/project_invitations', 'POST /rest/v1/rpc/my_invitations',
    'POST /rest/v1/rpc/cancel_job', 'POST /rest/v1/rpc/retry_job',
  ]));
  expect(new Set(functionCalls(alice))).toEqual(new Set(['GET /functions/v1/projects', 'POST /functions/v1/jobs']));
  expect(new Set(functionCalls(bob))).toEqual(new Set(['GET /functions/v1/projects']));
  mkdirSync(artifacts, { recursive: true });
  await alice.screenshot({ path: join(artifacts, 'console.png'), fullPage: true });
}, 120_000);

async function signUpAt(url: string, email: string, displayName: string): Promise<Page> {
  const page = await openPage(url);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', 'password123');
  await page.fill('input[name=display_name]', displayName);
  await page.click('button[value=sign-up]');
  return page;
}

async function mailLink(to: string): Promise<string> {
  let link: string | undefined;
  await expect.poll(async () => {
    const mails = (await (await fetch(`${stack.url}/mail/api/messages?to=${encodeURIComponent(to)}`)).json()) as { text: string }[];
    link = /(https?:\/\/\S+#\/invitations\/accept\?token=[0-9a-f]{64})/.exec(mails[0]?.text ?? '')?.[1];
    return link;
  }, { timeout: 20_000 }).toBeDefined();
  return link!;
}

async function invite(owner: Page, email: string, role: string): Promise<void> {
  await owner.fill('#invite input[name=email]', email);
  await owner.selectOption('#invite select[name=role]', role);
  await owner.click('#invite button[type=submit]');
  await expect.poll(() => owner.locator('[data-testid=invite-result]').textContent(), { timeout: 10_000 }).toContain(email);
}

test('an invitee joins from the mailed link or from their list, an invitation is revoked, and profile edits reach the member list', async () => {
  const stamp = Date.now().toString(36);
  const linked = `linked-${stamp}@example.com`;
  const listed = `listed-${stamp}@example.com`;
  const alice = await signIn('alice@example.com');
  await expect.poll(() => alice.locator('[data-testid=role]').textContent()).toBe('owner');
  await invite(alice, linked, 'collaborator');
  await invite(alice, listed, 'viewer');

  // A third invitation, revoked by RPC, leaves Alice's pending list.
  const revoked = `revoked-${stamp}@example.com`;
  await invite(alice, revoked, 'viewer');
  const pending = alice.locator('[data-testid=project-invitations] li', { hasText: revoked });
  await expect.poll(() => pending.count(), { timeout: 10_000 }).toBe(1);
  await pending.locator('button').click();
  await expect.poll(() => pending.count(), { timeout: 10_000 }).toBe(0);
  expect(await alice.locator('[data-testid=project-invitations] li', { hasText: listed }).count()).toBe(1);

  // The link opens the console; the invitee signs up with the invited address and is in.
  const link = await mailLink(linked);
  expect(link.startsWith(`${stack.url}/#/invitations/accept?token=`)).toBe(true);
  const newcomer = await signUpAt(link, linked, 'Linnea');
  await expect.poll(() => newcomer.locator('[data-testid=invitation-notice]').textContent(), { timeout: 15_000 })
    .toBe('You joined Apollo as collaborator.');
  expect(newcomer.url()).not.toContain('token=');
  await newcomer.locator(`[data-testid=projects] li[data-project-id="${APOLLO}"]`).click();
  await expect.poll(() => newcomer.locator('[data-testid=role]').textContent()).toBe('collaborator');

  // The other invitee accepts from "Invitations for you", without the token.
  const fromList = await signUpAt(`${stack.url}/`, listed, 'Lister');
  // A PostgREST error of an RPC reaches the page as its message.
  await fromList.fill('#accept-invitation input[name=token]', 'not-a-token');
  await fromList.click('#accept-invitation button[type=submit]');
  await expect.poll(() => fromList.locator('#error').textContent(), { timeout: 10_000 }).toBe('invitation not found');
  const item = fromList.locator('[data-testid=my-invitations] li');
  await expect.poll(() => item.count(), { timeout: 15_000 }).toBe(1);
  await item.locator('button').click();
  await expect.poll(() => fromList.locator('[data-testid=invitation-notice]').textContent(), { timeout: 15_000 })
    .toBe('You joined Apollo as viewer.');

  // Linnea renames herself; Alice sees it in the member list and in presence.
  await newcomer.fill('#profile input[name=display_name]', 'Linnea L.');
  await newcomer.click('#profile button[type=submit]');
  await expect.poll(() => newcomer.locator('[data-testid=whoami]').textContent(), { timeout: 10_000 }).toContain('Linnea L.');
  await alice.locator(`[data-testid=projects] li[data-project-id="${APOLLO}"]`).click();
  await expect.poll(() => alice.locator('[data-testid=members] li .member-name').allTextContents(), { timeout: 10_000 })
    .toEqual(expect.arrayContaining(['Linnea L.', 'Lister']));
  await expect.poll(() => alice.locator('[data-testid=online] .avatar[title="Linnea L."]').count(), { timeout: 20_000 }).toBe(1);

  expect(requests.get(alice)).toEqual(expect.arrayContaining(['POST /rest/v1/rpc/create_invitation', 'POST /rest/v1/rpc/revoke_invitation']));
  expect(requests.get(newcomer)).toEqual(expect.arrayContaining(['POST /rest/v1/rpc/accept_invitation', 'PATCH /rest/v1/profiles']));
  expect(requests.get(fromList)).toEqual(expect.arrayContaining(['POST /rest/v1/rpc/accept_invitation_from_list']));
  for (const page of [alice, newcomer, fromList]) expect(new Set(functionCalls(page))).toEqual(new Set(['GET /functions/v1/projects']));
}, 120_000);
