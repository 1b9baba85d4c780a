/**
 * A TCP port free right now on 127.0.0.1. Its own module with no test-runner imports, so the
 * browser tests' fixtures (test/oidc-provider.ts under web/e2e) load it as well as vitest files.
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
