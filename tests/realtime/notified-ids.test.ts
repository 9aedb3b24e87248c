/**
 * The local Realtime reads both shapes of `realtime_messages` notification: one per
 * statement (`{"ids": [...]}`, the bootstrap's trigger) and one per row (`{"id": ...}`,
 * databases bootstrapped before it), and ignores anything else.
 */
import { describe, expect, it } from 'vitest';
import { notifiedIds } from '../../devstack/realtime/database-broadcasts.ts';

describe('notifiedIds', () => {
  it('reads a statement notification, a row notification, and nothing from other payloads', () => {
    expect(notifiedIds('{"ids":["a","b"]}')).toEqual(['a', 'b']);
    expect(notifiedIds('{"id":"a","inserted_at":"2026-11-25T00:00:00"}')).toEqual(['a']);
    expect(notifiedIds('{"ids":["a",3,null]}')).toEqual(['a']);
    expect(notifiedIds('{"other":1}')).toEqual([]);
    expect(notifiedIds('null')).toEqual([]);
    expect(() => notifiedIds('not json')).toThrow();
  });
});
