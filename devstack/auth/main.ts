/**
 * `npm run auth`: local Auth on its own, at http://127.0.0.1:${PORT:-54333}/auth/v1.
 *
 *   SUPABASE_DB_URL, else DATABASE_URL  Postgres (a superuser or supabase_auth_admin URL)
 *   TANDEM_JWT_SECRET                   HS256 secret (default: the Supabase CLI's)
 *   TANDEM_AUTH_SIGNING_JWK             private EC P-256 / RSA JWK (JSON) to sign with (default: the
 *                                       Supabase CLI's ES256 key); `hs256` signs with the secret
 *   TANDEM_SMTP_HOST, TANDEM_SMTP_PORT  SMTP server for Auth's mail (+ TANDEM_SMTP_USER, TANDEM_SMTP_PASS)
 *   TANDEM_AUTH_ISSUER                  optional `iss` (default http://127.0.0.1:54321/auth/v1)
 *   PORT                                listening port (default 54333)
 *
 * The rest ([auth], [auth.email], [auth.sessions]) comes from supabase/config.toml, as
 * `supabase start` takes it. A configuration problem
 * prints one line on stderr and exits with status 2.
 */
import { createServer } from 'node:http';
import { z } from 'zod';
import { parseEnv, parseFlags, portVar } from '../config/cli.ts';
import { databaseUrlFromEnv } from '../db/setup.ts';
import { createLogger } from '../../core/log.ts';
import { projectAuthOptions } from './config.ts';
import { AuthConfigError } from './keys.ts';
import { createAuthServer } from './server.ts';

const DEFAULT_PORT = 54333;
const log = createLogger({ service: 'local-auth' });

function fail(message: string): never {
  process.stderr.write(`local Auth: ${message}\n`);
  process.exit(2);
}

function portFromEnv(value: string | undefined): number {
  try {
    return parseEnv(z.object({ PORT: portVar(DEFAULT_PORT) }), { PORT: value }).PORT;
  } catch (error) {
    return fail((error as Error).message);
  }
}

async function main(): Promise<void> {
  try {
    parseFlags(process.argv.slice(2), {});
  } catch (error) {
    fail((error as Error).message);
  }
  const databaseUrl = databaseUrlFromEnv();
  if (!databaseUrl) fail('set DATABASE_URL (or SUPABASE_DB_URL) to the Postgres URL of a superuser or supabase_auth_admin');
  const port = portFromEnv(process.env.PORT);
  const auth = await createAuthServer({
    ...projectAuthOptions(),
    databaseUrl,
    jwtSecret: process.env.TANDEM_JWT_SECRET || undefined,
    signingJwk: process.env.TANDEM_AUTH_SIGNING_JWK || undefined,
    issuer: process.env.TANDEM_AUTH_ISSUER || undefined,
    smtp: process.env.TANDEM_SMTP_HOST
      ? {
          host: process.env.TANDEM_SMTP_HOST,
          port: Number(process.env.TANDEM_SMTP_PORT || 25),
          user: process.env.TANDEM_SMTP_USER || undefined,
          pass: process.env.TANDEM_SMTP_PASS || undefined,
        }
      : undefined,
    logger: log,
  }).catch((error: unknown) => fail(error instanceof AuthConfigError ? error.message : String(error)));

  const server = createServer(auth.handler);
  server.once('error', (error: NodeJS.ErrnoException) =>
    fail(error.code === 'EADDRINUSE' ? `port ${port} is already in use on 127.0.0.1 (set PORT to use another)` : error.message),
  );
  server.listen(port, '127.0.0.1', () => log.info('auth_listening', { url: `http://127.0.0.1:${port}/auth/v1` }));

  const shutdown = () => {
    server.closeAllConnections();
    server.close(() => void auth.close().then(() => process.exit(0)));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

void main();
