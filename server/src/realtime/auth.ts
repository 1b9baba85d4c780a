/**
 * Who may open a socket: a handshake from Prism's own origin (or from none: scripts, k6), carrying a
 * genuine session token (`auth.token`) or the session cookie. Identity is kept in typed
 * `socket.data` for every handler after.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { sessionFromCookie, type TokenSigner } from '../domain/tokens.ts';
import { originChecker, originRefused } from '../http/auth.ts';
import type { PrismSocket } from './types.ts';

/**
 * Socket.IO's `allowRequest`: refuses a handshake whose Origin is not Prism's. The refusal's text
 * (the HTTP 400 body of the failed upgrade: what a script's client or the browser's network panel
 * shows; a page's JavaScript only learns that the websocket failed) names the expected origin and
 * PUBLIC_URL, and the server logs it once per origin, where an operator looks.
 */
export function allowOrigin(
  publicOrigin: string,
  production: boolean,
  logger: Logger,
): (req: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void) => void {
  const ownOrigin = originChecker(publicOrigin, production);
  const logged = new Set<string>();
  return (req, callback) => {
    // Browsers always send Origin on a websocket handshake; scripts (k6, tests) may not.
    const origin = req.headers.origin;
    if (!origin || ownOrigin(origin)) return callback(null, true);
    const message = originRefused(origin, publicOrigin);
    if (logged.size < 100 && !logged.has(origin)) {
      logged.add(origin);
      logger.warn({ origin, expected: publicOrigin }, 'websocket refused: %s', message);
    }
    callback(message, false);
  };
}

/** The `io.use` middleware: a bad or missing token gives `connect_error` with message `unauthorized`. */
export function authenticate(
  signer: TokenSigner,
): (socket: PrismSocket, next: (error?: Error) => void) => void {
  return (socket, next) => {
    const token =
      (socket.handshake.auth as { token?: unknown } | undefined)?.token ??
      sessionFromCookie(socket.handshake.headers.cookie);
    const user = signer.verifySession(token);
    if (!user) return next(new Error('unauthorized'));
    socket.data.user = user;
    socket.data.presence = {};
    next();
  };
}
