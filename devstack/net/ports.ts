/**
 * Port helpers shared by the test harness and the devstack.
 */
import { createServer } from 'node:net';

/**
 * Asks the kernel for a free TCP port on 127.0.0.1.
 *
 * @example
 * const port = await findFreePort({ avoid: new Set([54322]) });
 */
export async function findFreePort(options: { avoid?: ReadonlySet<number> } = {}): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port && !options.avoid?.has(port)) return port;
  }
}

/**
 * True when something already listens on `host:port`.
 *
 * @example
 * if (await isPortInUse(54321)) throw new Error('port 54321 is taken');
 */
export async function isPortInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, host, () => server.close(() => resolve(false)));
  });
}
