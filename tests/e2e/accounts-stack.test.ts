/**
 * The devstack as `supabase start` presents accounts: the CLI's demo keys on every start
 * (also in <stateDir>/env), ES256 user tokens that the functions and the local Realtime
 * verify through the JWKS, and Auth's mail readable at /mail behind the gateway.
 * (That admin-created users appear in supabase-js `from()` reads needs the Data API, issue 18.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from '@supabase/supabase-js';
import { decodeProtectedHeader } from 'jose';
import { expect, it } from 'vitest';
import { startTestStack } from './stack.ts';

// supabase/cli apps/cli-go/docs/templates/examples.yaml (`supabase status` with the default secret).
const CLI_ANON_KEY =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0';
const CLI_SERVICE_ROLE_KEY =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU';

it('prints the same keys on two starts, verifies ES256 tokens in functions and Realtime, and catches mail at /mail', async () => {
  const keys: string[][] = [];
  for (const round of [1, 2]) {
    const stack = await startTestStack();
    try {
      keys.push([stack.anonKey, stack.serviceRoleKey!]);
      const env = readFileSync(join(stack.stateDir, 'env'), 'utf8');
      expect(env).toContain(`ANON_KEY=${CLI_ANON_KEY}\n`);
      expect(env).toContain(`SERVICE_ROLE_KEY=${CLI_SERVICE_ROLE_KEY}\n`);
      expect(env).toContain(`API_URL=${stack.url}\n`);
      expect(env).toContain(`MAILPIT_URL=${stack.url}/mail\n`);
      if (round === 2) break;

      const supabase = stack.client();
      const email = `stack-${Date.now()}@test.tandem.dev`;
      const { data, error } = await supabase.auth.signUp({ email, password: 'password123' });
      expect(error).toBeNull();
      const token = data.session!.access_token;
      expect(decodeProtectedHeader(token).alg).toBe('ES256');
      // The functions verify it through the JWKS.
      const projects = await fetch(`${stack.url}/functions/v1/projects`, { headers: { authorization: `Bearer ${token}`, apikey: stack.anonKey } });
      expect(projects.status).toBe(200);
      const forged = await fetch(`${stack.url}/functions/v1/projects`, { headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA`, apikey: stack.anonKey } });
      expect(forged.status).toBe(401);
      // So does the local Realtime (REST broadcast with the user's token).
      const broadcast = (bearer: string) =>
        fetch(`${stack.url}/realtime/v1/api/broadcast`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', apikey: stack.anonKey, authorization: `Bearer ${bearer}` },
          body: JSON.stringify({ messages: [{ topic: 'lobby', event: 'hello', payload: {} }] }),
        });
      expect((await broadcast(token)).status).toBe(202);
      expect((await broadcast(`${token.slice(0, -4)}AAAA`)).status).toBe(401);

      // Mail goes over SMTP to the catcher, readable behind the gateway.
      expect((await supabase.auth.resetPasswordForEmail(email)).error).toBeNull();
      const messages = (await (await fetch(`${stack.url}/mail/api/messages?to=${encodeURIComponent(email)}`)).json()) as { subject: string }[];
      expect(messages.map((m) => m.subject)).toEqual(['Reset Your Password']);
      expect((await fetch(`${stack.url}/mail/`)).status).toBe(200);

      // The admin API with the printed service_role key.
      const admin = createClient(stack.url, stack.serviceRoleKey!, { auth: { persistSession: false, autoRefreshToken: false } }).auth.admin;
      expect((await admin.getUserById(data.user!.id)).data.user?.email).toBe(email);
    } finally {
      await stack.stop();
    }
  }
  expect(keys).toEqual([
    [CLI_ANON_KEY, CLI_SERVICE_ROLE_KEY],
    [CLI_ANON_KEY, CLI_SERVICE_ROLE_KEY],
  ]);
}, 240_000);
