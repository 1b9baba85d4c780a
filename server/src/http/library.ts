/** `GET /api/reviews?workspaceId=&q=&status=` (CONTRACT 7.3): the library. Thin: the work is in domain/library.ts. */
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
      res.set('cache-control', 'no-store');
      res.type('application/json').send(await library.listJson(userOf(req), parsed.data));
    }),
  );

  return router;
}
