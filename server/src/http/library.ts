/** `GET /api/reviews?workspaceId=&q=&status=` (CONTRACT 7.3): the library. Thin: the work is in domain/library.ts. */
import { createHash } from 'node:crypto';
import { LIMITS, LibraryQuery, PrismError } from '@prism/core';
import { Router } from 'express';
import type { LibraryService } from '../domain/library.ts';
import { userOf } from './auth.ts';
import { route } from './errors.ts';

export function libraryRoutes(library: LibraryService): Router {
  const router = Router();

  router.get(
    '/reviews',
    route(async (req, res) => {
      const parsed = LibraryQuery.safeParse(req.query);
      if (!parsed.success) {
        const field = parsed.error.issues[0]?.path[0];
        if (field === 'q' && typeof req.query.q === 'string') {
          throw new PrismError('too_long', `A search is at most ${LIMITS.searchQuery} characters.`);
        }
        if (field === 'status')
          throw new PrismError('invalid', 'status must be open, submitted or archived.');
        throw new PrismError('invalid', 'Give workspaceId, q and status at most once each, as text.');
      }
      // Kept by the browser and asked again each time: the ETag is a hash of the body (so the same on
      // every server), and a refresh that still has it gets a 304 instead of megabytes again. The
      // request's own Cache-Control is not looked at: fetch() sends no-cache with an If-None-Match.
      const body = await library.listJson(userOf(req), parsed.data);
      const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
      res.set('cache-control', 'private, no-cache');
      res.set('etag', etag);
      if (matchesEtag(req.headers['if-none-match'], etag)) {
        res.status(304).end();
        return;
      }
      res.type('application/json').send(body);
    }),
  );

  return router;
}

/** Whether an If-None-Match header names `etag` (weak or strong, one of a list). */
const matchesEtag = (header: string | undefined, etag: string): boolean =>
  !!header && header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
