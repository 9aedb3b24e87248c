/**
 * The client payload schemas on their own: what a join, a presence push and an
 * access_token push are read as (the wire behaviour is tests/realtime/**).
 */
import { describe, expect, it } from 'vitest';
import { accessTokenPayload, broadcastPayload, flexibleBoolean, presencePayload, readJoin, trackPayload } from './payloads.ts';

describe('flexibleBoolean (upstream FlexibleBoolean, invalid values take the default)', () => {
  it.each([
    [true, true],
    ['TRUE', true],
    ['True', true],
    [false, false],
    ['false', false],
    [1, false],
    ['1', false],
    ['yes', false],
    [null, false],
    [undefined, false],
  ])('%j → %j', (input, expected) => {
    expect(flexibleBoolean.parse(input)).toBe(expected);
  });
});

describe('readJoin', () => {
  it('reads the config with defaults for anything missing or malformed', () => {
    expect(readJoin({}, 'api-key-token')).toMatchObject({
      isPrivate: false,
      presenceEnabled: false,
      ackBroadcast: false,
      selfBroadcast: false,
      postgresChanges: [],
      accessToken: 'api-key-token',
    });
    for (const malformed of [null, [], 'x', { config: [] }, { config: { broadcast: 'yes', presence: 3, postgres_changes: {} } }]) {
      expect(readJoin(malformed, 't')).toMatchObject({ isPrivate: false, ackBroadcast: false, postgresChanges: [], accessToken: 't' });
    }
    const join = readJoin({ config: { private: 'TRUE', broadcast: { self: 'True', ack: true }, presence: { enabled: 'true', key: 7 }, postgres_changes: [null, { event: '*' }, 'x'] } }, 't');
    expect(join).toEqual({ isPrivate: true, presenceEnabled: true, presenceKey: '7', ackBroadcast: true, selfBroadcast: true, postgresChanges: [{ event: '*' }, {}], accessToken: 't' });
  });

  it('takes a fresh presence key when none or "" is given', () => {
    const a = readJoin({ config: { presence: { key: '' } } }, 't').presenceKey;
    const b = readJoin({ config: { presence: {} } }, 't').presenceKey;
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(b).not.toBe(a);
  });

  it("picks the token as upstream's assign_access_token does", () => {
    expect(readJoin({ access_token: 'jwt-a' }, 'k').accessToken).toBe('jwt-a');
    expect(readJoin({ access_token: 'jwt-a', user_token: 'jwt-u' }, 'k').accessToken).toBe('jwt-u');
    expect(readJoin({ access_token: 'sb_publishable_x', user_token: 'jwt-u' }, 'k').accessToken).toBe('k');
    expect(readJoin({ access_token: false, user_token: 'sb_secret_x' }, 'k').accessToken).toBe('k');
    expect(readJoin({ access_token: 42 }, 'k').accessToken).toBe('k');
  });
});

describe('channel pushes', () => {
  it('reads a presence push, its track payload and an access_token push', () => {
    expect(presencePayload.parse({ event: 'TRACK', payload: { a: 1 } })).toMatchObject({ event: 'track' });
    expect(presencePayload.safeParse({ event: 1 }).success).toBe(false);
    expect(presencePayload.safeParse([]).success).toBe(false);
    expect(trackPayload.parse(undefined)).toEqual({});
    for (const notAMap of [null, [], 'x', 3]) expect(trackPayload.safeParse(notAMap).success).toBe(false);
    expect(accessTokenPayload.parse({ access_token: null }).access_token).toBeNull();
    for (const other of [{}, { access_token: 3 }, 'x']) expect(accessTokenPayload.safeParse(other).success).toBe(false);
  });

  it('relays any JSON broadcast payload, and a kind-3 push as a user broadcast', () => {
    expect(broadcastPayload.parse([1, 2])).toEqual({ kind: 'json', payload: [1, 2] });
    const body = new Uint8Array([1]);
    expect(broadcastPayload.parse({ kind: 'user_broadcast_push', userEvent: 'e', encoding: 'binary', body })).toEqual({ kind: 'user', userEvent: 'e', encoding: 'binary', body });
  });
});
