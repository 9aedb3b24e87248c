/**
 * Starts local Auth in-process on a free port against the run's test database, with a
 * supabase-js client factory pointed at it.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { inject } from 'vitest';
import { createAuthServer, type AuthServerOptions } from '../../devstack/auth/server.ts';
import { startMailCatcher, type MailCatcher } from '../../devstack/mail/catcher.ts';

export interface RunningAuth {
  /** Base URL, as given to createClient (supabase-js adds /auth/v1). */
  url: string;
  client(): SupabaseClient;
  close(): Promise<void>;
}

/** An opaque publishable key: local Auth, like GoTrue behind the gateway, does not read it. */
export const ANON_KEY = 'sb_publishable_tandem-auth-tests';

/**
 * Starts local Auth on 127.0.0.1 with `options` over the defaults.
 *
 * @example
 * const auth = await startAuth({ refreshTokenReuseIntervalSeconds: 0 });
 * const { data } = await auth.client().auth.signUp({ email: uniqueEmail(), password: 'password123' });
 */
export async function startAuth(options: Partial<AuthServerOptions> = {}): Promise<RunningAuth> {
  const auth = await createAuthServer({ databaseUrl: inject('databaseUrl'), ...options });
  const server = createServer(auth.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    client: () =>
      createClient(url, ANON_KEY, {
        auth: { persistSession: false, autoRefreshToken: false },
      }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await auth.close();
    },
  };
}

/** A fresh email address that no other test uses. */
export function uniqueEmail(): string {
  return `auth-${randomUUID().slice(0, 12)}@test.tandem.dev`;
}

/** A mail catcher with two local Auths sending to it: confirmations off (`auth`) and on (`confirming`). */
export interface MailedAuth {
  mail: MailCatcher;
  auth: RunningAuth;
  confirming: RunningAuth;
  close(): Promise<void>;
}

/**
 * Starts the mail catcher and, against it, local Auth with confirmations off and on (no
 * resend interval, `siteUrl` as the site).
 *
 * @example
 * const { mail, auth, confirming } = await startMailedAuth('http://127.0.0.1:3000');
 */
export async function startMailedAuth(siteUrl: string): Promise<MailedAuth> {
  const mail = await startMailCatcher();
  const smtp = { host: '127.0.0.1', port: mail.smtpPort };
  const auth = await startAuth({ smtp, maxFrequencySeconds: 0, siteUrl });
  const confirming = await startAuth({ smtp, maxFrequencySeconds: 0, siteUrl, enableConfirmations: true });
  return {
    mail,
    auth,
    confirming,
    close: async () => {
      await auth.close();
      await confirming.close();
      await mail.close();
    },
  };
}
