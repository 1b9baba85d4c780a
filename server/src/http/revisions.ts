/**
 * Revisions over HTTP (CONTRACT 7.5): `POST /reviews/:id/revisions` (multipart `file`, read under the
 * upload's limits) and `GET /reviews/:id/revisions/:n/diff?sectionId=`. Thin: the work is in
 * domain/revisions.ts.
 */
import { PrismError } from '@prism/core';
import { Router } from 'express';
import type { RevisionService } from '../domain/revisions.ts';
import type { RateLimits } from '../infra/rate-limit.ts';
import { userOf } from './auth.ts';
import { route } from './errors.ts';
import { uploadLimits } from './limits.ts';
import { readUpload, spendUpload } from './upload.ts';

export interface RevisionRoutesDeps {
  revisions: RevisionService;
  limits: RateLimits;
  maxUploadBytes: number;
}

export function revisionRoutes(deps: RevisionRoutesDeps): Router {
  const { revisions, limits } = deps;
  const router = Router();

  router.post(
    '/reviews/:id/revisions',
    uploadLimits(limits),
    route(async (req, res) => {
      const user = userOf(req);
      const reviewId = String(req.params.id);
      try {
        // Who may revise is known before the file is read.
        await revisions.authorize(reviewId, user);
      } catch (error) {
        req.resume();
        throw error;
      }
      await spendUpload(limits, user.id, req, res);
      const upload = await readUpload(req, deps.maxUploadBytes);
      const file = upload.files.file;
      if (!file) {
        throw new PrismError('invalid', 'Choose the revised Word document (.docx) in the "file" field.');
      }
      const revision = await revisions.add(reviewId, user, file);
      res.status(201).json({ revision });
    }),
  );

  router.get(
    '/reviews/:id/revisions/:n/diff',
    route(async (req, res) => {
      const n = Number(req.params.n);
      if (!Number.isInteger(n) || n < 1)
        throw new PrismError('invalid', 'The revision number must be 1 or more.');
      const sectionId = typeof req.query.sectionId === 'string' ? req.query.sectionId : '';
      if (!sectionId) throw new PrismError('invalid', 'Name the section as ?sectionId=.');
      res.json(await revisions.diff(String(req.params.id), userOf(req), n, sectionId));
    }),
  );

  return router;
}
