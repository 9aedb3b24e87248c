/**
 * The local Data API alone in its own process, for benchmark 5 (data-api.ts): the load
 * generator must not share this process's event loop. Reads TANDEM_BENCH_DB_URL (as
 * `postgres`) and TANDEM_BENCH_JWT_SECRET, listens on a free port and prints
 * `listening <port>` on stdout.
 */
import { createServer } from 'node:http';
import postgres from 'postgres';
import { createDataApi } from '../../devstack/rest/app.ts';
import { projectDataApiConfig } from '../../devstack/rest/config.ts';
import { DATA_API_POOL_OPTIONS } from './data-api-pool.ts';

const sql = postgres(process.env.TANDEM_BENCH_DB_URL!, DATA_API_POOL_OPTIONS);
const api = await createDataApi({ sql, config: projectDataApiConfig(), jwt: { jwtSecret: process.env.TANDEM_BENCH_JWT_SECRET! }, warn: (m) => process.stderr.write(`data api: ${m}\n`) });
const server = createServer((req, res) => api.handle(req, res));
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void sql.end({ timeout: 2 }).then(() => process.exit(0));
});
