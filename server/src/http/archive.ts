/**
 * A review's end (CONTRACT 7.3): `POST /api/reviews/:id/archive` and `DELETE /api/reviews/:id`,
 * owner only. Thin: the rules are in domain/archive.ts, the moving in store/src/archive.ts.
 */
import { Router } from 'express';
import type { ArchiveService } from '../domain/archive.ts';
import { userOf } from './auth.ts';
import { route } from './errors.ts';
import { requireObjectBody } from './lifecycle.ts';

export function archiveRoutes(archive: ArchiveService): Router {
  const router = Router();

  router.post(
    '/reviews/:id/archive',
    route(async (req, res) => {
      requireObjectBody(req);
      res.json({ status: await archive.archive(userOf(req), String(req.params.id)) });
    }),
  );

  router.delete(
    '/reviews/:id',
    route(async (req, res) => {
      await archive.delete(userOf(req), String(req.params.id));
      res.status(204).end();
    }),
  );

  return router;
}
