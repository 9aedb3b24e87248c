/**
 * Users made by the admin API (`auth.admin.createUser` with the service_role key) are
 * users like any other for the Data API: their `profiles` row (made by the trigger on
 * auth.users) is read by service_role through `from('profiles')`, and by the user after
 * signing in, while row-level security keeps other users' rows from them; admin changes
 * and deletion show there too. All through the devstack gateway (local Auth and the local
 * Data API on one database: tests/rest/stack.ts) with supabase-js.
 */
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRestStack, type RestStack } from '../rest/stack.ts';
import { uniqueEmail } from './helpers.ts';

let stack: RestStack;
beforeAll(async () => {
  stack = await startRestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const clientWith = (key: string): SupabaseClient =>
  createClient(stack.url, key, {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { transport: WebSocket as unknown as typeof globalThis.WebSocket },
  });

async function adminCreated(displayName: string): Promise<{ id: string; email: string }> {
  const email = uniqueEmail();
  const { data, error } = await clientWith(stack.serviceKey).auth.admin.createUser({
    email,
    password: 'password123',
    email_confirm: true,
    user_metadata: { display_name: displayName },
  });
  expect(error).toBeNull();
  return { id: data.user!.id, email };
}

async function signedIn(email: string): Promise<SupabaseClient> {
  const client = clientWith(stack.anonKey);
  const { error } = await client.auth.signInWithPassword({ email, password: 'password123' });
  expect(error).toBeNull();
  return client;
}

describe('admin-created users in Data API reads', () => {
  it('service_role reads their profiles; each user reads its own after sign-in and not the other’s', async () => {
    const ada = await adminCreated('Ada Admin');
    const bob = await adminCreated('Bob Admin');
    const service = clientWith(stack.serviceKey);
    const both = await service.from('profiles').select('id, email, display_name').in('id', [ada.id, bob.id]).order('display_name');
    expect(both.error).toBeNull();
    expect(both.data).toEqual([
      { id: ada.id, email: ada.email, display_name: 'Ada Admin' },
      { id: bob.id, email: bob.email, display_name: 'Bob Admin' },
    ]);

    const asAda = await signedIn(ada.email);
    const own = await asAda.from('profiles').select('id, email, display_name').in('id', [ada.id, bob.id]);
    expect(own.error).toBeNull();
    expect(own.data).toEqual([{ id: ada.id, email: ada.email, display_name: 'Ada Admin' }]);
    // And the same from Bob's side.
    const asBob = await signedIn(bob.email);
    expect((await asBob.from('profiles').select('id').in('id', [ada.id, bob.id])).data).toEqual([{ id: bob.id }]);
    // Without a session the anon role reads nothing of theirs.
    expect((await clientWith(stack.anonKey).from('profiles').select('id').in('id', [ada.id, bob.id])).data ?? []).toEqual([]);
  });

  it('an admin email change and a deletion show in from() reads', async () => {
    const cy = await adminCreated('Cy Admin');
    const service = clientWith(stack.serviceKey);
    const next = uniqueEmail();
    expect((await service.auth.admin.updateUserById(cy.id, { email: next })).error).toBeNull();
    expect((await service.from('profiles').select('email').eq('id', cy.id).single()).data).toEqual({ email: next });
    const asCy = await signedIn(next);
    expect((await asCy.from('profiles').select('email').eq('id', cy.id).single()).data).toEqual({ email: next });

    expect((await service.auth.admin.deleteUser(cy.id)).error).toBeNull();
    expect((await service.from('profiles').select('id').eq('id', cy.id)).data).toEqual([]);
  });
});
