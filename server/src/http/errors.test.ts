import type { AddressInfo } from 'node:net';
import { PrismError } from '@prism/core';
import express from 'express';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler, route } from './errors.ts';

describe('error answers', () => {
  let url = '';
  let close = (): void => {};
  beforeAll(async () => {
    const app = express();
    app.get(
      '/busy',
      route(async () => {
        throw new PrismError(
          'unavailable',
          'This server is busy reading other documents; upload again in a moment.',
        );
      }),
    );
    app.get(
      '/forbidden',
      route(async () => {
        throw new PrismError('forbidden', 'No.');
      }),
    );
    app.use(errorHandler(pino({ level: 'silent' })));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => close());

  it('tells a client of a busy server when to try again, and only then', async () => {
    const busy = await fetch(`${url}/busy`);
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('2');
    expect(((await busy.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    const forbidden = await fetch(`${url}/forbidden`);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('retry-after')).toBeNull();
  });
});
