/**
 * Whether the user a verified token names still exists. A token outlives its user (it is
 * valid until `exp`, up to an hour), so after a deletion the functions refuse it with 401
 * "user no longer exists" rather than serve a cached listing or 404s to a ghost.
 *
 * This sits beside the verified-token cache (jwt.ts), not in it: a token-cache entry may
 * be a minute old, and a deletion after it was made must still be seen. So every request
 * asks here. A write asks Postgres every time (`fresh`: it goes to Postgres anyway, and a
 * deleted user must never write); a read may reuse an answer "exists" for at most
 * `positiveTtlMs` (default 1 s, the longest a deleted user's token still reads — what a
 * deleted user can read is nothing once their memberships are gone), so a cached listing
 * stays a Redis-only hit. One lookup per user runs at a time however many requests wait
 * for it, and "gone" is kept for a minute (ids are never reused). Under read load this is
 * about one primary-key lookup per active user per second.
 */
import { createSingleFlight } from '../cache/single-flight.ts';

export interface UserExistenceOptions {
  /** Reads whether the user exists (a primary-key lookup in auth.users). */
  lookup: (userId: string) => Promise<boolean>;
  /** How long "exists" is reused (default 1000 ms; 0: ask every time). */
  positiveTtlMs?: number;
  now?: () => number;
}

const MAX_ENTRIES = 10_000;
const NEGATIVE_TTL_MS = 60_000;

/**
 * Creates the check.
 *
 * @example
 * const userExists = createUserExistence({ lookup: async (id) => (await sql`select 1 from auth.users where id = ${id}`).length > 0 });
 * if (!(await userExists(token.userId, { fresh: method !== 'GET' }))) throw new ApiError('unauthorized', 'user no longer exists');
 */
export function createUserExistence(options: UserExistenceOptions): (userId: string, check?: { fresh?: boolean }) => Promise<boolean> {
  const positiveTtlMs = options.positiveTtlMs ?? 1000;
  const now = options.now ?? Date.now;
  const verdicts = new Map<string, { exists: boolean; until: number }>();
  const flight = createSingleFlight<boolean>();
  return async (userId, check = {}) => {
    const cached = verdicts.get(userId);
    if (cached && now() < cached.until && (!check.fresh || !cached.exists)) return cached.exists;
    // A fresh check never joins a lookup that started before it was asked.
    const exists = check.fresh ? await options.lookup(userId) : await flight(userId, () => options.lookup(userId));
    const ttl = exists ? positiveTtlMs : NEGATIVE_TTL_MS;
    if (ttl > 0) {
      verdicts.delete(userId);
      verdicts.set(userId, { exists, until: now() + ttl });
      if (verdicts.size > MAX_ENTRIES) verdicts.delete(verdicts.keys().next().value!);
    }
    return exists;
  };
}
