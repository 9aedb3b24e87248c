/**
 * `npm run realtime`: the local Realtime on 127.0.0.1:${PORT:-54332}, paths
 * /realtime/v1/websocket and /realtime/v1/api/broadcast. Reads SUPABASE_DB_URL (else
 * DATABASE_URL) and TANDEM_JWT_SECRET and/or SUPABASE_JWKS (else
 * ${SUPABASE_URL}/auth/v1/.well-known/jwks.json); tenant limits from upstream's variables
 * (TENANT_MAX_EVENTS_PER_SECOND, ... — see devstack/realtime/rate-limits.ts).
 */
import { jwtVerifierConfigFromEnv } from '../../core/auth/jwt.ts';
import { createLogger } from '../../core/log.ts';
import { z } from 'zod';
import { parseEnv, parseFlags, portVar, runCommand, UsageError } from '../config/cli.ts';
import { databaseUrlFromEnv } from '../db/setup.ts';
import { tenantLimitsFromEnv } from './rate-limits.ts';
import { createRealtimeServer } from './server.ts';

async function main(): Promise<void> {
  parseFlags(process.argv.slice(2), {});
  const log = createLogger({ service: 'realtime' });
  const databaseUrl = databaseUrlFromEnv();
  const jwt = jwtVerifierConfigFromEnv((name) => process.env[name]);
  if (!databaseUrl) throw new UsageError('needs SUPABASE_DB_URL or DATABASE_URL');
  if (!jwt.jwtSecret && !jwt.jwks && !jwt.jwksUrl) throw new UsageError('needs TANDEM_JWT_SECRET or SUPABASE_JWKS to verify tokens');
  const { PORT: port } = parseEnv(z.object({ PORT: portVar(54332) }), process.env);
  const tenant = tenantLimitsFromEnv((name) => process.env[name]);
  const realtime = await createRealtimeServer({ databaseUrl, jwt, logger: log, tenant });
  const { url } = await realtime.listen(port, '127.0.0.1');
  log.info('realtime_listening', { url });
  const stop = () => {
    log.info('realtime_stopping');
    realtime.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

runCommand('local Realtime', main);
