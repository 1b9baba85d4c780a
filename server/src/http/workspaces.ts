/** Workspaces over HTTP (CONTRACT 7.2). Thin: the rules are in domain/workspaces.ts. */
import { describeIssues, PrismError, WorkspaceBody, WorkspaceInviteBody } from '@prism/core';
import { Router } from 'express';
import type { WorkspaceService } from '../domain/workspaces.ts';
import { requireJson, userOf } from './auth.ts';
import { route } from './errors.ts';

export function workspaceRoutes(workspaces: WorkspaceService): Router {
  const router = Router();

  router.post(
    '/workspaces',
    route(async (req, res) => {
      requireJson(req);
      const body = WorkspaceBody.safeParse(req.body);
      if (!body.success) {
        const { code } = describeIssues(body.error);
        throw new PrismError(code, 'A workspace needs a name of 1 to 80 characters: {"name": "..."}.');
      }
      const workspace = await workspaces.create(userOf(req), body.data.name);
      res.status(201).json({ workspace });
    }),
  );

  router.get(
    '/workspaces',
    route(async (req, res) => {
      res.set('cache-control', 'no-store');
      res.json({ workspaces: await workspaces.list(userOf(req)) });
    }),
  );

  router.post(
    '/workspaces/:id/invites',
    route(async (req, res) => {
      requireJson(req);
      const workspaceId = String(req.params.id);
      // Who may invite is checked before the body, so an outsider learns nothing from its errors.
      await workspaces.authorize(workspaceId, userOf(req), 'admin');
      const body = WorkspaceInviteBody.safeParse(req.body);
      if (!body.success) throw new PrismError('invalid', 'role must be "admin" or "member".');
      res.json(await workspaces.invite(workspaceId, userOf(req), body.data.role));
    }),
  );

  router.get(
    '/workspaces/:id/members',
    route(async (req, res) => {
      const members = await workspaces.members(String(req.params.id), userOf(req));
      res.set('cache-control', 'no-store');
      res.json({ members: members.map(({ user, role }) => ({ user, role })) });
    }),
  );

  router.delete(
    '/workspaces/:id/members/:userId',
    route(async (req, res) => {
      await workspaces.remove(String(req.params.id), userOf(req), String(req.params.userId));
      res.status(204).end();
    }),
  );

  return router;
}
