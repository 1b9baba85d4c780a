import { HTTP_STATUS, isPrismError, PrismError } from '@prism/core';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';

/** Wraps an async route so a thrown error reaches the error handler. */
export const route =
  (handler: (req: Request, res: Response) => Promise<void>): RequestHandler =>
  (req, res, next: NextFunction) => {
    handler(req, res).catch(next);
  };

export function sendError(res: Response, error: PrismError): void {
  // A busy server (its parse queue full, a dependency away) tells the client when to try again.
  if (error.code === 'unavailable' && !res.headersSent && !res.getHeader('retry-after')) {
    res.setHeader('retry-after', '2');
  }
  res.status(HTTP_STATUS[error.code]).json({ error: error.toBody(), ...error.extra });
}

/** Every error leaves as `{"error":{"code","message"}}`; unexpected ones are logged once. */
/**
 * Reads what is left of a request body before answering: Node closes a connection whose request
 * was answered unread, and a client still sending then sees a reset instead of the answer.
 * Bounded, so a client that never stops sending is cut off.
 */
function drain(req: Request, limitMs = 10_000): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, limitMs);
    req.once('end', done);
    req.once('close', done);
    req.resume();
  });
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    drain(req).then(() => answer(error, req, res, next));
  };

  function answer(error: unknown, req: Request, res: Response, _next: NextFunction): void {
    if (res.headersSent) return;
    const status = (error as { status?: number }).status;
    const type = (error as { type?: string }).type;
    if (isPrismError(error)) {
      sendError(res, error);
    } else if (type === 'entity.too.large') {
      sendError(res, new PrismError('too_large', 'The request body is too large.'));
    } else if (error instanceof URIError) {
      // The router could not percent-decode a path parameter (e.g. /api/reviews/%E0%A4%A).
      sendError(
        res,
        new PrismError(
          'invalid',
          'The request path is malformed: it has an invalid percent-encoded (%) sequence.',
        ),
      );
    } else if (type === 'entity.parse.failed') {
      sendError(res, new PrismError('invalid', 'The request body is not valid JSON.'));
    } else if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
      sendError(
        res,
        new PrismError(
          'unsupported_type',
          'The body uses a character set or encoding Prism does not read; send UTF-8 JSON.',
        ),
      );
    } else if (status && status >= 400 && status < 500) {
      sendError(res, new PrismError('invalid', 'The request could not be read.'));
    } else {
      logger.error({ err: error, path: req.path }, 'request failed');
      sendError(res, new PrismError('internal', 'Something went wrong on the server; try again.'));
    }
  }
}
