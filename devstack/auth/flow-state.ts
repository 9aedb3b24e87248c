/**
 * Local Auth's PKCE flow states, as GoTrue keeps them in auth.flow_state (upstream
 * supabase/auth internal/models/flow_state.go, internal/api/pkce.go, the PKCE grant in
 * internal/api/token.go): a sign-up, magic link, recovery or email change that carried a
 * `code_challenge` leaves a flow state with an auth code; following the mailed link
 * (`pkce_` token) hands that auth code to the app as `?code=`, and
 * `POST /token?grant_type=pkce` trades it with the `code_verifier` for a session, once.
 *
 * Kept in memory, not in a table: the local platform schema (sql/platform/02_auth.sql)
 * has no auth.flow_state, and a flow lives five minutes (GoTrue's default
 * flow_state_expiry_duration), so a restart of local Auth only ends pending flows.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { AuthApiFailure } from './errors.ts';
import { stringField } from './request.ts';

/** The token prefix of a PKCE flow's mailed link (upstream pkce.go, PKCEPrefix). */
export const PKCE_PREFIX = 'pkce_';

/** GoTrue's default flow_state_expiry_duration (upstream internal/conf/configuration.go). */
export const FLOW_STATE_EXPIRY_SECONDS = 300;

/** What a request's `code_challenge` / `code_challenge_method` said. */
export interface PkceChallenge {
  challenge: string;
  method: 's256' | 'plain';
}

/** The authentication methods a mailed PKCE flow can have (upstream internal/models/factor.go). */
export type FlowMethod = 'email/signup' | 'magiclink' | 'recovery' | 'invite' | 'email_change';

interface FlowState extends PkceChallenge {
  userId: string;
  authMethod: FlowMethod;
  authCode: string;
  createdAt: number;
  authCodeIssuedAt?: number;
}

/**
 * The PKCE parameters of a request body (upstream pkce.go, validatePKCEParams): none, or
 * both with a 43 to 128 character challenge of unreserved characters; undefined when the
 * request is an implicit flow.
 *
 * @example
 * const pkce = pkceChallengeOf(body); // { challenge: 'E9Mel…', method: 's256' } | undefined
 */
export function pkceChallengeOf(body: Record<string, unknown>): PkceChallenge | undefined {
  const challenge = stringField(body, 'code_challenge');
  const method = stringField(body, 'code_challenge_method');
  if (!challenge && !method) return undefined;
  if (!challenge || !method) throw new AuthApiFailure(400, 'validation_failed', 'PKCE flow requires code_challenge_method and code_challenge');
  if (challenge.length < 43 || challenge.length > 128) {
    throw new AuthApiFailure(400, 'validation_failed', 'code challenge has to be between 43 and 128 characters');
  }
  if (!/^[a-zA-Z._~0-9-]+$/.test(challenge)) {
    throw new AuthApiFailure(400, 'validation_failed', 'code challenge can only contain alphanumeric characters, hyphens, periods, underscores and tildes');
  }
  const normalized = method.toLowerCase();
  if (normalized !== 's256' && normalized !== 'plain') {
    throw new AuthApiFailure(400, 'validation_failed', `unsupported code_challenge method "${method}"`);
  }
  return { challenge, method: normalized };
}

/**
 * The flow method of a verification type (upstream models.ParseAuthenticationMethod).
 *
 * @example
 * flowMethodOf('signup'); // 'email/signup'
 */
export function flowMethodOf(verificationType: string): FlowMethod {
  if (verificationType === 'signup') return 'email/signup';
  return verificationType as FlowMethod;
}

function verifierMatches(state: PkceChallenge, verifier: string): boolean {
  const expected = state.method === 's256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  const a = Buffer.from(expected);
  const b = Buffer.from(state.challenge);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface FlowStates {
  /** Records a flow for `userId` (upstream generateFlowState). */
  create(userId: string, authMethod: FlowMethod, pkce: PkceChallenge): void;
  /** The auth code of the user's newest flow of that method, once its link is followed (upstream issueAuthCode). */
  issueAuthCode(userId: string, authMethod: FlowMethod): string;
  /** Checks and spends an auth code: the user and method it was for (upstream token.go, PKCE). */
  exchange(authCode: string, codeVerifier: string): { userId: string; authMethod: FlowMethod };
}

/**
 * @example
 * const flows = createFlowStates();
 * flows.create(user.id, 'email/signup', pkce);
 * const code = flows.issueAuthCode(user.id, 'email/signup'); // after the link is followed
 * const { userId } = flows.exchange(code, verifier);
 */
export function createFlowStates(expirySeconds = FLOW_STATE_EXPIRY_SECONDS, now: () => number = Date.now): FlowStates {
  const states: FlowState[] = [];
  const expired = (state: FlowState) => {
    // A magic link's flow counts from when its code was issued (upstream FlowState.IsExpired).
    const from = state.authCodeIssuedAt !== undefined && state.authMethod === 'magiclink' ? state.authCodeIssuedAt : state.createdAt;
    return now() > from + expirySeconds * 1000;
  };
  const prune = () => {
    // Long-expired flows are of no use to anyone: keep the list from growing.
    for (let i = states.length - 1; i >= 0; i -= 1) if (now() > states[i]!.createdAt + 2 * expirySeconds * 1000 + 3_600_000) states.splice(i, 1);
  };
  return {
    create(userId, authMethod, pkce) {
      prune();
      states.push({ userId, authMethod, ...pkce, authCode: randomUUID(), createdAt: now() });
    },
    issueAuthCode(userId, authMethod) {
      const state = states.findLast((entry) => entry.userId === userId && entry.authMethod === authMethod);
      if (!state) throw new AuthApiFailure(422, 'flow_state_not_found', 'No valid flow state found for user.');
      state.authCodeIssuedAt = now();
      return state.authCode;
    },
    exchange(authCode, codeVerifier) {
      if (!authCode || !codeVerifier) {
        throw new AuthApiFailure(400, 'validation_failed', 'invalid request: both auth code and code verifier should be non-empty');
      }
      const index = states.findIndex((entry) => entry.authCode === authCode);
      const state = states[index];
      if (!state) throw new AuthApiFailure(404, 'flow_state_not_found', 'invalid flow state, no valid flow state found');
      if (expired(state)) throw new AuthApiFailure(422, 'flow_state_expired', 'invalid flow state, flow state has expired');
      if (!verifierMatches(state, codeVerifier)) {
        throw new AuthApiFailure(400, 'bad_code_verifier', 'code challenge does not match previously saved code verifier');
      }
      states.splice(index, 1);
      return { userId: state.userId, authMethod: state.authMethod };
    },
  };
}
