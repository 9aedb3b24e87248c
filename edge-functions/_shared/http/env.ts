/**
 * Hono's environment for the functions: what the server binds and what middleware leaves
 * for handlers (`c.get('user')`, `c.get('log')`, `c.get('requestId')`).
 */
import type { VerifiedToken } from '../../../core/auth/jwt.ts';
import type { Logger } from '../../../core/log.ts';

export interface FunctionEnv {
  /** Deno.serve's connection info (absent under other servers and in `app.request()`). */
  Bindings: { remoteAddr?: { hostname?: string } } | undefined;
  Variables: {
    /** Set by middleware/request-id.ts. */
    requestId: string;
    /** The function's logger with this request's id (middleware/access-log.ts). */
    log: Logger;
    /** The caller, on every route that needs a token (middleware/authenticate.ts). */
    user: VerifiedToken;
  };
}
