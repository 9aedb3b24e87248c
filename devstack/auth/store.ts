/**
 * Local Auth's storage: users, sessions and refresh tokens in GoTrue's own tables
 * (`auth.users`, `auth.sessions`, `auth.refresh_tokens`), written the way GoTrue writes
 * them, so Tandem's triggers on `auth.users` fire and the data looks the same to SQL.
 * Refresh tokens are GoTrue's "legacy" kind: 12 random characters, one row each, rotated
 * on every use (the used row is revoked, its child points back to it with `parent`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { AuthApiFailure } from './errors.ts';

export type Sql = postgres.Sql<Record<string, unknown>>;
type Tx = postgres.TransactionSql<Record<string, unknown>>;

/** The `auth.users` columns local Auth reads. */
export interface UserRow {
  id: string;
  aud: string | null;
  role: string | null;
  email: string | null;
  encrypted_password: string | null;
  email_confirmed_at: Date | null;
  phone: string | null;
  phone_confirmed_at: Date | null;
  confirmed_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  created_at: Date | null;
  updated_at: Date | null;
  banned_until: Date | null;
  is_anonymous: boolean;
  invited_at: Date | null;
  confirmation_token: string | null;
  confirmation_sent_at: Date | null;
  recovery_token: string | null;
  recovery_sent_at: Date | null;
  email_change: string | null;
  email_change_token_new: string | null;
  email_change_token_current: string | null;
  email_change_sent_at: Date | null;
  email_change_confirm_status: number | null;
  reauthentication_token: string | null;
  reauthentication_sent_at: Date | null;
}

export interface SessionRow {
  id: string;
  user_id: string;
  created_at: Date;
}

/** A user's session with its current refresh token. */
export interface IssuedSession {
  user: UserRow;
  session: SessionRow;
  refreshToken: string;
  /** The user's identities when the caller's connection cannot see them yet (inside the sign-up transaction). */
  identities?: IdentityRow[];
}

export interface ClientInfo {
  userAgent?: string;
  ip?: string;
}

const userColumns = `id, aud, role, email, encrypted_password, email_confirmed_at, phone, phone_confirmed_at,
  confirmed_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at, banned_until, is_anonymous,
  invited_at, confirmation_token, confirmation_sent_at, recovery_token, recovery_sent_at, email_change, email_change_token_new,
  email_change_token_current, email_change_sent_at, email_change_confirm_status, reauthentication_token, reauthentication_sent_at`;

/** The column list, for queries outside this file. */
export const USER_COLUMNS = userColumns;

/** GoTrue's `instance_id` of every row, and the "no session" `session_id`. */
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** 12 random lowercase letters and digits, like GoTrue's legacy refresh tokens. */
function newRefreshToken(): string {
  let token = '';
  while (token.length < 12) {
    for (const byte of randomBytes(16)) {
      // 252 = 7 * 36: dropping the rest keeps every character equally likely.
      if (byte < 252 && token.length < 12) token += TOKEN_ALPHABET[byte % 36];
    }
  }
  return token;
}

const optionalTime = (value: Date | null) => (value ? value.toISOString() : undefined);

/**
 * The user object of GoTrue's responses (`/user`, the `user` of a session, the admin API).
 *
 * @example
 * writeJson(res, 200, userJson(user));
 */
export function userJson(user: UserRow, identities: IdentityRow[] = []): Record<string, unknown> {
  const userMetadata = user.raw_user_meta_data ?? {};
  const json: Record<string, unknown> = {
    id: user.id,
    aud: user.aud ?? '',
    role: user.role ?? '',
    email: user.email ?? '',
    email_confirmed_at: optionalTime(user.email_confirmed_at),
    phone: user.phone ?? '',
    phone_confirmed_at: optionalTime(user.phone_confirmed_at),
    confirmed_at: optionalTime(user.confirmed_at),
    last_sign_in_at: optionalTime(user.last_sign_in_at),
    confirmation_sent_at: optionalTime(user.confirmation_sent_at),
    recovery_sent_at: optionalTime(user.recovery_sent_at),
    email_change_sent_at: optionalTime(user.email_change_sent_at),
    new_email: user.email_change || undefined,
    invited_at: optionalTime(user.invited_at),
    app_metadata: user.raw_app_meta_data ?? {},
    user_metadata: userMetadata,
    identities: identities.map((identity) => ({
      identity_id: identity.id,
      id: identity.provider_id,
      user_id: identity.user_id,
      identity_data: identity.identity_data,
      provider: identity.provider,
      last_sign_in_at: optionalTime(identity.last_sign_in_at),
      created_at: optionalTime(identity.created_at),
      updated_at: optionalTime(identity.updated_at),
      email: identity.email ?? undefined,
    })),
    created_at: optionalTime(user.created_at),
    updated_at: optionalTime(user.updated_at),
    banned_until: optionalTime(user.banned_until),
    is_anonymous: user.is_anonymous,
  };
  for (const key of Object.keys(json)) if (json[key] === undefined) delete json[key];
  return json;
}

export interface IdentityRow {
  id: string;
  provider_id: string;
  user_id: string;
  identity_data: Record<string, unknown>;
  provider: string;
  email: string | null;
  last_sign_in_at: Date | null;
  created_at: Date | null;
  updated_at: Date | null;
}

/**
 * A user's identities (auth.identities), oldest first.
 *
 * @example
 * writeJson(res, 200, userJson(user, await identitiesOf(sql, user.id)));
 */
export async function identitiesOf(sql: Sql, userId: string): Promise<IdentityRow[]> {
  return sql<IdentityRow[]>`
    select id, provider_id, user_id, identity_data, provider, email, last_sign_in_at, created_at, updated_at
    from auth.identities where user_id = ${userId} order by created_at, id`;
}

/** True while `banned_until` is in the future. */
export function isBanned(user: UserRow): boolean {
  return user.banned_until !== null && user.banned_until.getTime() > Date.now();
}

/**
 * The password user with this email (case-insensitive), as GoTrue finds it for sign-in.
 *
 * @example
 * const user = await findUserByEmail(sql, 'alice@example.com');
 */
export async function findUserByEmail(sql: Sql, email: string): Promise<UserRow | undefined> {
  const [user] = await sql<UserRow[]>`
    select ${sql.unsafe(userColumns)} from auth.users
    where instance_id = ${NIL_UUID} and lower(email) = lower(${email}) and aud = 'authenticated' and is_sso_user = false
    limit 1`;
  return user;
}

/**
 * The user with this id.
 *
 * @example
 * const user = await findUserById(sql, claims.sub);
 */
export async function findUserById(sql: Sql, id: string): Promise<UserRow | undefined> {
  // GoTrue's FindUserByID reads `instance_id = uuid.Nil and id = ?`: a row with another (or
  // NULL) instance_id is no user.
  const [user] = await sql<UserRow[]>`select ${sql.unsafe(userColumns)} from auth.users where instance_id = ${NIL_UUID} and id = ${id}`;
  return user;
}

/**
 * Whether a session still exists (sign-out deletes it).
 *
 * @example
 * if (!(await sessionExists(sql, claims.session_id))) throw sessionGone;
 */
export async function sessionExists(sql: Sql, id: string): Promise<boolean> {
  const [row] = await sql`select 1 from auth.sessions where id = ${id}`;
  return row !== undefined;
}

async function startSession(tx: Tx, userId: string, client: ClientInfo): Promise<IssuedSession> {
  const sessionId = randomUUID();
  const refreshToken = newRefreshToken();
  const [session] = await tx<SessionRow[]>`
    insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent, ip)
    values (${sessionId}, ${userId}, now(), now(), 'aal1', ${client.userAgent ?? null}, ${client.ip ?? null})
    returning id, user_id, created_at`;
  await tx`
    insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
    values (${NIL_UUID}, ${refreshToken}, ${userId}, false, now(), now(), null, ${sessionId})`;
  const [user] = await tx<UserRow[]>`
    update auth.users set last_sign_in_at = now(), updated_at = now() where id = ${userId}
    returning ${tx.unsafe(userColumns)}`;
  return { user: user!, session: session!, refreshToken };
}

/** GoTrue's answer to a sign-up with a registered email (when sign-ups are auto-confirmed). */
export const userAlreadyExists = () => new AuthApiFailure(422, 'user_already_exists', 'User already registered');

/**
 * Creates an email user (the profile trigger runs) with their email identity — confirmed
 * unless `confirmed` is false —, signs them in when `client` is given and runs `respond`
 * on the user and the new session — all in one transaction, so a response that cannot be
 * made (a token that cannot be signed) leaves no user behind to block the address. Check
 * `findUserByEmail` first; two sign-ups racing for one email end in `user_already_exists`.
 * The four string columns without a default that GoTrue reads into plain strings get '',
 * as GoTrue writes them, so the user also signs in under real Supabase Auth
 * (sql/platform/README.md).
 *
 * @example
 * const body = await signUpUser(sql, { email, passwordHash, metadata: { display_name: 'Ada' } }, client, sessionResponse);
 */
export async function signUpUser<T>(
  sql: Sql,
  input: { email: string; passwordHash: string | null; metadata: Record<string, unknown>; confirmed?: boolean; appMetadata?: Record<string, unknown> },
  client: ClientInfo | undefined,
  respond: (user: UserRow, issued: IssuedSession | undefined) => Promise<T>,
): Promise<T> {
  const confirmed = input.confirmed ?? true;
  try {
    return await sql.begin(async (tx) => {
      const id = randomUUID();
      const identityData = { sub: id, email: input.email, email_verified: confirmed, phone_verified: false };
      await tx`
        insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
                                confirmation_token, recovery_token, email_change_token_new, email_change,
                                raw_app_meta_data, raw_user_meta_data, created_at, updated_at, is_anonymous)
        values (${NIL_UUID}, ${id}, 'authenticated', 'authenticated', ${input.email}, ${input.passwordHash}, ${confirmed ? new Date() : null},
                '', '', '', '',
                ${tx.json({ provider: 'email', providers: ['email'], ...input.appMetadata } as postgres.JSONValue)},
                ${tx.json({ ...input.metadata, ...identityData } as postgres.JSONValue)}, now(), now(), false)`;
      // GoTrue's email identity: its own id, provider_id = the user id, and the identity
      // data it copies into user_metadata (internal/api/signup.go, createNewIdentity).
      await tx`
        insert into auth.identities (provider_id, user_id, identity_data, provider, created_at, updated_at)
        values (${id}, ${id}, ${tx.json(identityData)}, 'email', now(), now())`;
      if (!client) {
        const [user] = await tx<UserRow[]>`select ${tx.unsafe(userColumns)} from auth.users where id = ${id}`;
        return respond(user!, undefined);
      }
      const issued = await startSession(tx, id, client);
      return respond(issued.user, { ...issued, identities: await identitiesOf(tx as unknown as Sql, id) });
    }) as T;
  } catch (error) {
    // Two sign-ups with the same email at once: the unique index decides.
    if ((error as { code?: string }).code === '23505') throw userAlreadyExists();
    throw error;
  }
}

/**
 * GoTrue's anonymous sign-in (upstream supabase/auth internal/api/anonymous.go): a user
 * with no email, password or identity, `is_anonymous` true, no provider in its app
 * metadata, and a session at once.
 *
 * @example
 * const issued = await signUpAnonymousUser(sql, { theme: 'dark' }, client);
 */
export async function signUpAnonymousUser(sql: Sql, metadata: Record<string, unknown>, client: ClientInfo): Promise<IssuedSession> {
  return sql.begin(async (tx) => {
    const id = randomUUID();
    await tx`
      insert into auth.users (instance_id, id, aud, role, email, encrypted_password, confirmation_token, recovery_token,
                              email_change_token_new, email_change, raw_app_meta_data, raw_user_meta_data, created_at, updated_at, is_anonymous)
      values (${NIL_UUID}, ${id}, 'authenticated', 'authenticated', null, null, '', '', '', '',
              ${tx.json({})}, ${tx.json(metadata as postgres.JSONValue)}, now(), now(), true)`;
    return { ...(await startSession(tx, id, client)), identities: [] };
  }) as Promise<IssuedSession>;
}

/**
 * Opens a new session for a user who proved who they are.
 *
 * @example
 * const issued = await signInUser(sql, user.id, client);
 */
export async function signInUser(sql: Sql, userId: string, client: ClientInfo): Promise<IssuedSession> {
  return sql.begin((tx) => startSession(tx, userId, client));
}

type RefreshOutcome = { kind: 'ok'; issued: IssuedSession } | { kind: 'failed'; failure: AuthApiFailure };

const refreshNotFound = () => new AuthApiFailure(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');

/**
 * GoTrue's refresh-token grant with rotation. The token is revoked and a child token is
 * issued. A revoked token is accepted again only (a) when it is the parent of the
 * session's active token — the client lost the response, it gets that active token back —
 * or (b) within `reuseIntervalSeconds` of its revocation, when it gets a new child. Any
 * other reuse ends the session — its row and with it every refresh token — and fails with
 * `refresh_token_already_used`; the session's newest token then finds nothing
 * (`refresh_token_not_found`) and its access tokens lose their session. That is what
 * GoTrue does on reuse of its current refresh tokens (supabase/auth
 * internal/tokens/service.go, `models.LogoutSession`). For its legacy tokens GoTrue
 * instead revokes the family with `updated_at = now()` (internal/models/refresh_token.go,
 * RevokeTokenFamily), which hands the newest token a fresh reuse window — refreshing it
 * right after the reuse revives the session; local Auth does not copy that.
 * All of it runs with the session row locked, so concurrent refreshes of one session
 * queue up instead of racing.
 *
 * @example
 * const { user, session, refreshToken } = await rotateRefreshToken(sql, token, 10, client);
 */
export async function rotateRefreshToken(
  sql: Sql,
  token: string,
  reuseIntervalSeconds: number,
  client: ClientInfo,
  rotation = true,
  sessions: { timeboxSeconds?: number; inactivitySeconds?: number } = {},
): Promise<IssuedSession> {
  const [found] = await sql<{ id: string; session_id: string | null }[]>`
    select id, session_id from auth.refresh_tokens where token = ${token}`;
  if (!found) throw refreshNotFound();
  const noSession = new AuthApiFailure(400, 'session_not_found', 'Invalid Refresh Token: No Valid Session Found');
  if (!found.session_id) {
    await sql`delete from auth.refresh_tokens where id = ${found.id}`;
    throw noSession;
  }
  const sessionId = found.session_id;

  const outcome = await sql.begin(async (tx): Promise<RefreshOutcome> => {
    // `[auth.sessions]` timebox and inactivity_timeout (GoTrue's Session.CheckValidity).
    const [session] = await tx<(SessionRow & { expired: boolean; inactive: boolean })[]>`
      select id, user_id, created_at,
        coalesce(not_after < now(), false) or (${sessions.timeboxSeconds ?? 0} > 0 and created_at + make_interval(secs => ${sessions.timeboxSeconds ?? 0}) < now()) as expired,
        ${sessions.inactivitySeconds ?? 0} > 0 and coalesce(refreshed_at::timestamptz, updated_at, created_at) + make_interval(secs => ${sessions.inactivitySeconds ?? 0}) < now() as inactive
      from auth.sessions where id = ${sessionId} for update`;
    if (!session) return { kind: 'failed', failure: noSession };
    const [row] = await tx<{ id: string; revoked: boolean | null; reuse_expired: boolean }[]>`
      select id, revoked, updated_at + make_interval(secs => ${reuseIntervalSeconds}) < now() as reuse_expired
      from auth.refresh_tokens where token = ${token}`;
    if (!row) return { kind: 'failed', failure: refreshNotFound() };
    const [user] = await tx<UserRow[]>`select ${tx.unsafe(userColumns)} from auth.users where id = ${session.user_id}`;
    if (!user) return { kind: 'failed', failure: refreshNotFound() };
    if (isBanned(user)) return { kind: 'failed', failure: new AuthApiFailure(400, 'user_banned', 'Invalid Refresh Token: User Banned') };
    if (session.inactive) return { kind: 'failed', failure: new AuthApiFailure(400, 'session_expired', 'Invalid Refresh Token: Session Expired (Inactivity)') };
    if (session.expired) return { kind: 'failed', failure: new AuthApiFailure(400, 'session_expired', 'Invalid Refresh Token: Session Expired') };

    let issuedToken: string | undefined;
    if (row.revoked) {
      const [active] = await tx<{ token: string; parent: string | null }[]>`
        select token, parent from auth.refresh_tokens
        where session_id = ${sessionId} and revoked = false order by id desc limit 1`;
      if (active && active.parent === token) {
        issuedToken = active.token;
      } else if (row.reuse_expired) {
        // Committed with the failure: the whole session goes (its tokens cascade) — unless
        // rotation is off (`enable_refresh_token_rotation = false`), when GoTrue only refuses.
        if (rotation) await tx`delete from auth.sessions where id = ${sessionId}`;
        return { kind: 'failed', failure: new AuthApiFailure(400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used') };
      }
    }
    let current: UserRow | undefined = user;
    if (!issuedToken) {
      issuedToken = newRefreshToken();
      await tx`update auth.refresh_tokens set revoked = true, updated_at = now() where id = ${row.id}`;
      await tx`
        insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
        values (${NIL_UUID}, ${issuedToken}, ${user.id}, false, now(), now(), ${token}, ${sessionId})`;
      [current] = await tx<UserRow[]>`
        update auth.users set last_sign_in_at = now() where id = ${user.id} returning ${tx.unsafe(userColumns)}`;
    }
    await tx`
      update auth.sessions
      set refreshed_at = timezone('utc', now()), updated_at = now(),
          user_agent = coalesce(${client.userAgent ?? null}, user_agent), ip = coalesce(${client.ip ?? null}::inet, ip)
      where id = ${sessionId}`;
    return { kind: 'ok', issued: { user: current ?? user, session, refreshToken: issuedToken } };
  });
  if (outcome.kind === 'failed') throw outcome.failure;
  return outcome.issued;
}

/**
 * Signs out: `global` ends every session of the user, `local` only `sessionId`, `others`
 * every session but `sessionId`. Deleting a session deletes its refresh tokens.
 *
 * @example
 * await signOut(sql, userId, sessionId, 'global');
 */
export async function signOut(sql: Sql, userId: string, sessionId: string | undefined, scope: 'global' | 'local' | 'others'): Promise<void> {
  if (sessionId && scope === 'local') await sql`delete from auth.sessions where id = ${sessionId}`;
  else if (sessionId && scope === 'others') await sql`delete from auth.sessions where user_id = ${userId} and id <> ${sessionId}`;
  else await sql`delete from auth.sessions where user_id = ${userId}`;
}
