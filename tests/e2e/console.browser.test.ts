/**
 * The browser console in Debian's Chromium (playwright-core): two people sign in, see each
 * other online in their shared workspace, and watch a job's progress bar reach 100%.
 * A screenshot is kept in test-artifacts/console.png.
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

async function signIn(email: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${stack.url}/`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', 'password123');
  await page.click('button[value=sign-in]');
  await page.locator(`[data-testid=projects] li[data-project-id="${APOLLO}"]`).click();
  return page;
}

test('two people see each other online and a job progress bar reaches 100%', async () => {
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
  mkdirSync(artifacts, { recursive: true });
  await alice.screenshot({ path: join(artifacts, 'console.png'), fullPage: true });
}, 120_000);
