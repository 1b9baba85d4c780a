/** Reviews over HTTP: upload, list, read, invites, exports. Thin: the work is in core and the service. */
import {
  AcceptInviteBody,
  exportChecklistCsv,
  exportCsv,
  exportJson,
  InviteBody,
  PrismError,
  reviewedDocxReport,
} from '@prism/core';
import { type ObjectStore, summary } from '@prism/store';
import { Router } from 'express';
import type { AiService } from '../domain/ai-service.ts';
import type { Ingest } from '../domain/ingest.ts';
import type { ReviewService } from '../domain/review-service.ts';
import type { RubricService } from '../domain/rubrics.ts';
import type { TokenSigner } from '../domain/tokens.ts';
import type { WorkspaceService } from '../domain/workspaces.ts';
import type { RateLimits } from '../infra/rate-limit.ts';
import type { Presence } from '../realtime/presence.ts';
import { requireJson, userOf } from './auth.ts';
import { route } from './errors.ts';
import { limitAddress } from './limits.ts';
import { readUpload, spendUpload } from './upload.ts';

export interface ReviewRoutesDeps {
  service: ReviewService;
  ai: AiService;
  objects: ObjectStore;
  signer: TokenSigner;
  limits: RateLimits;
  presence: Presence;
  publicUrl: string;
  maxUploadBytes: number;
  /** Checks, parses (off the event loop) and stores uploads. */
  ingest: Ingest;
  /** Uploads into a workspace, and workspace invites at /invites/accept (CONTRACT 7.2). */
  workspaces?: WorkspaceService;
  /** The workspace rubric an upload picks (`rubricId`, CONTRACT 7.4). */
  rubrics?: RubricService;
}

export function reviewRoutes(deps: ReviewRoutesDeps): Router {
  const { service, objects, signer, limits, presence } = deps;
  const router = Router();

  router.post(
    '/reviews',
    route(async (req, res) => {
      const user = userOf(req);
      await spendUpload(limits, user.id, req, res);
      const upload = await readUpload(req, deps.maxUploadBytes);
      const file = upload.files.file;
      if (!file)
        throw new PrismError('invalid', 'Choose a Word document (.docx) to upload in the "file" field.');
      const { workspaceId: workspaceField } = upload.fields;
      const rubricId = upload.fields.rubricId?.trim() || undefined;
      const workspaceId = workspaceField?.trim() || undefined;
      if (workspaceId) {
        if (!deps.workspaces) throw new PrismError('not_found', 'There is no workspace with this id.');
        await deps.workspaces.authorize(workspaceId, user, 'member');
      }
      // `default`, or a rubric of the review's workspace, kept at its current version (CONTRACT 7.4).
      if (!deps.rubrics && rubricId !== undefined && rubricId !== 'default')
        throw new PrismError('invalid', 'rubricId: the only rubric is "default".');
      const rubric = await deps.rubrics?.forReview(workspaceId, rubricId);
      const meta = await deps.ingest.createReview(user, {
        file,
        guidelines: upload.files.guidelines,
        title: upload.fields.title,
        workspaceId,
        rubric,
      });
      // Upload never starts analysis unless asked to.
      if (upload.fields.analyze === 'true') await deps.ai.startAnalysis(user, { reviewId: meta.id });
      res.status(201).json({ review: summary(meta, 'owner') });
    }),
  );

  // GET /reviews (the library) is http/library.ts.

  router.get(
    '/reviews/:id',
    route(async (req, res) => {
      const reviewId = String(req.params.id);
      const { role } = await service.authorize(reviewId, userOf(req), 'review:read');
      res.json(await service.store.snapshot(reviewId, role, await presence.online(reviewId)));
    }),
  );

  router.post(
    '/reviews/:id/invites',
    route(async (req, res) => {
      requireJson(req);
      const user = userOf(req);
      const reviewId = String(req.params.id);
      await service.authorize(reviewId, user, 'invite:create');
      const body = InviteBody.safeParse(req.body);
      if (!body.success) throw new PrismError('invalid', 'role must be "reviewer" or "viewer".');
      const token = signer.invite(reviewId, body.data.role, user);
      res.json({ token, url: `${deps.publicUrl}/invite?token=${encodeURIComponent(token)}` });
    }),
  );

  router.post(
    '/invites/accept',
    route(async (req, res) => {
      requireJson(req);
      // Every attempt counts, forged ones too: guessing at invites is limited like accepting them.
      await limitAddress(limits, 'invites', req, res);
      const body = AcceptInviteBody.safeParse(req.body);
      if (!body.success) throw new PrismError('invalid', 'Send the invite token as {"token": "..."}.');
      const workspaceInvite = deps.workspaces && signer.verifyWorkspaceInvite(body.data.token);
      if (workspaceInvite) {
        res.json(await deps.workspaces!.accept(workspaceInvite, userOf(req)));
        return;
      }
      const invite = signer.verifyInvite(body.data.token);
      if (!invite)
        throw new PrismError('forbidden', 'This invite link is not valid or has expired; ask for a new one.');
      const role = await service.join(invite.reviewId, userOf(req), invite.role);
      res.json({ reviewId: invite.reviewId, role });
    }),
  );

  router.get(
    '/reviews/:id/export',
    route(async (req, res) => {
      const reviewId = String(req.params.id);
      const { role, meta } = await service.authorize(reviewId, userOf(req), 'review:read');
      const format = String(req.query.format ?? 'docx');
      if (!['docx', 'json', 'csv'].includes(format)) {
        throw new PrismError('invalid', 'format must be docx, json or csv.');
      }
      // Suggested rewrites as Word tracked changes (default), or as comments only.
      const changes = String(req.query.changes ?? 'tracked');
      if (changes !== 'tracked' && changes !== 'comments') {
        throw new PrismError('invalid', 'changes must be tracked or comments.');
      }
      const snapshot = await service.store.snapshot(reviewId, role);
      const name = (meta.original.name.replace(/\.docx$/i, '') || 'review').replace(/[^\w\- .()]+/g, '_');
      const attach = (filename: string): string =>
        `attachment; filename="${filename.replace(/"/g, '')}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
      if (format === 'docx') {
        const original = await objects.get(meta.original.key);
        const reviewed = reviewedDocxReport(original, snapshot, meta.anchors, { changes });
        res
          .type('application/vnd.openxmlformats-officedocument.wordprocessingml.document')
          .set('content-disposition', attach(`${name}_reviewed.docx`))
          // Rewrites whose quote could not be found exactly: comments with "Replace with: ..." instead.
          .set('x-prism-unplaced-changes', String(reviewed.unplacedChanges))
          .send(Buffer.from(reviewed.docx));
      } else if (format === 'json') {
        const events = await service.store.log.all(reviewId);
        res.set('content-disposition', attach(`${name}_review.json`)).json(exportJson(snapshot, events));
      } else if (req.query.table === 'checklist') {
        res
          .type('text/csv; charset=utf-8')
          .set('content-disposition', attach(`${name}_checklist.csv`))
          .send(`\ufeff${exportChecklistCsv(snapshot)}`);
      } else {
        res
          .type('text/csv; charset=utf-8')
          .set('content-disposition', attach(`${name}_findings.csv`))
          .send(`\ufeff${exportCsv(snapshot)}`);
      }
    }),
  );

  router.post(
    '/reviews/:id/export',
    route(async (req, res) => {
      // JSON like every write (CONTRACT section 3): `{}`, or no body with Content-Type application/json.
      requireJson(req);
      const reviewId = String(req.params.id);
      const user = userOf(req);
      await service.authorize(reviewId, user, 'export:package');
      const jobId = await deps.ai.queues.add(
        'export.package',
        { reviewId, requestedBy: user },
        `e.${reviewId}.${Date.now()}`,
      );
      res.status(202).json({ jobId });
    }),
  );

  return router;
}
