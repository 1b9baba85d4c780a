/**
 * The workspace rubric library over HTTP (CONTRACT 7.4), and two extensions: duplicate, and import
 * from a guidelines .docx (proposed checkpoints, not saved). Thin: the rules are in domain/rubrics.ts.
 */
import { describeIssues, PrismError, RUBRIC_LIMITS, RubricBody, RubricDuplicateBody } from '@prism/core';
import { Router } from 'express';
import type { RubricService } from '../domain/rubrics.ts';
import type { RateLimits } from '../infra/rate-limit.ts';
import { requireJson, userOf } from './auth.ts';
import { route } from './errors.ts';
import { uploadLimits } from './limits.ts';
import { readUpload, spendUpload } from './upload.ts';

const rubricBody = (body: unknown): RubricBody => {
  const parsed = RubricBody.safeParse(body);
  if (!parsed.success) {
    const { code, message } = describeIssues(parsed.error);
    throw new PrismError(
      code,
      `${message}. A rubric is {"name": 1-${RUBRIC_LIMITS.name} characters, "checkpoints": 1-${RUBRIC_LIMITS.checkpoints} of {"title": 1-${RUBRIC_LIMITS.title} characters, "description": up to ${RUBRIC_LIMITS.description}, "required": true|false}}.`,
    );
  }
  return parsed.data;
};

export function rubricRoutes(rubrics: RubricService, maxUploadBytes: number, limits: RateLimits): Router {
  const router = Router();

  router.get(
    '/workspaces/:id/rubrics',
    route(async (req, res) => {
      res.set('cache-control', 'no-store');
      res.json({ rubrics: await rubrics.list(String(req.params.id), userOf(req)) });
    }),
  );

  router.get(
    '/workspaces/:id/rubrics/:rubricId',
    route(async (req, res) => {
      res.set('cache-control', 'no-store');
      res.json({
        rubric: await rubrics.get(String(req.params.id), userOf(req), String(req.params.rubricId)),
      });
    }),
  );

  router.post(
    '/workspaces/:id/rubrics/import',
    // A guidelines import is an upload like any other: the same per-person and per-address limits.
    uploadLimits(limits),
    route(async (req, res) => {
      // Who may import is checked before the upload is read, so an outsider learns nothing from its errors.
      await rubrics.authorize(String(req.params.id), userOf(req), 'admin').catch((error: unknown) => {
        req.resume();
        throw error;
      });
      await spendUpload(limits, userOf(req).id, req, res);
      const upload = await readUpload(req, maxUploadBytes);
      const file = upload.files.file;
      if (!file) throw new PrismError('invalid', 'Choose a guidelines document (.docx) in the "file" field.');
      res.json(await rubrics.propose(String(req.params.id), userOf(req), file));
    }),
  );

  router.post(
    '/workspaces/:id/rubrics',
    route(async (req, res) => {
      requireJson(req);
      await rubrics.authorize(String(req.params.id), userOf(req), 'admin');
      const rubric = await rubrics.create(String(req.params.id), userOf(req), rubricBody(req.body));
      res.status(201).json({ rubric });
    }),
  );

  router.put(
    '/workspaces/:id/rubrics/:rubricId',
    route(async (req, res) => {
      requireJson(req);
      const workspaceId = String(req.params.id);
      const rubricId = String(req.params.rubricId);
      await rubrics.authorize(workspaceId, userOf(req), 'admin');
      const rubric = await rubrics.update(workspaceId, userOf(req), rubricId, rubricBody(req.body));
      res.json({ rubric });
    }),
  );

  router.post(
    '/workspaces/:id/rubrics/:rubricId/duplicate',
    route(async (req, res) => {
      await rubrics.authorize(String(req.params.id), userOf(req), 'admin');
      const body = RubricDuplicateBody.safeParse(req.body ?? {});
      if (!body.success)
        throw new PrismError(describeIssues(body.error).code, `name: 1-${RUBRIC_LIMITS.name} characters.`);
      const rubric = await rubrics.duplicate(
        String(req.params.id),
        userOf(req),
        String(req.params.rubricId),
        body.data.name,
      );
      res.status(201).json({ rubric });
    }),
  );

  return router;
}
