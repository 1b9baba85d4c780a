/**
 * `GET /api/workspaces/:id/insights` (CONTRACT 7.4), for members of the workspace. Thin: the
 * figures are in domain/insights.ts. Extensions: `trends`, `reviews`, `cost.cacheWriteTokens`,
 * `learned` (the team's preferences as the prompt states them, '' while none is clear) and
 * `version` in the JSON; `?by=&key=` answers the reviews and items behind one figure; `?format=csv`
 * and `?format=xlsx` download the tables. The JSON carries an ETag (the workspace's `version`):
 * `If-None-Match` with the current one answers 304 after reading only the reviews' stamps, so a page
 * may poll it cheaply.
 */
import { ACCEPTANCE_BY, PrismError } from '@prism/core';
import { Router } from 'express';
import { z } from 'zod';
import { drill, type InsightsService } from '../domain/insights.ts';
import { insightsCsv, insightsXlsx } from '../domain/insights-export.ts';
import type { WorkspaceService } from '../domain/workspaces.ts';
import { userOf } from './auth.ts';
import { route } from './errors.ts';

const Query = z.strictObject({
  format: z.enum(['json', 'csv', 'xlsx']).optional(),
  by: z.enum(ACCEPTANCE_BY).optional(),
  key: z.string().min(1).max(200).optional(),
});

export function insightsRoutes(deps: { insights: InsightsService; workspaces: WorkspaceService }): Router {
  const router = Router();

  router.get(
    '/workspaces/:id/insights',
    route(async (req, res) => {
      const workspaceId = String(req.params.id);
      await deps.workspaces.authorize(workspaceId, userOf(req), 'member');
      const query = Query.safeParse(req.query);
      if (!query.success) {
        throw new PrismError(
          'invalid',
          'Give format (json, csv or xlsx), or by (category, checkpoint, type or source) with key, at most once each.',
        );
      }
      const { format = 'json', by, key } = query.data;
      if ((by === undefined) !== (key === undefined))
        throw new PrismError('invalid', 'Give by and key together.');
      res.set('cache-control', 'private, no-cache');
      const at = await deps.insights.version(workspaceId);
      const etag = `"${format}-${by ?? ''}-${key ? encodeURIComponent(key) : ''}-${at.version}"`;
      res.set('etag', etag);
      if (req.headers['if-none-match'] === etag) {
        res.status(304).end();
        return;
      }
      if (by && key) {
        const { reviews, titles } = await deps.insights.read(at);
        res.json(drill(reviews, titles, by, key));
        return;
      }
      const insights = await deps.insights.figures(workspaceId, at);
      if (format === 'csv') {
        res.type('text/csv; charset=utf-8');
        res.attachment(`insights-${workspaceId}.csv`);
        res.send(insightsCsv(insights));
        return;
      }
      if (format === 'xlsx') {
        res.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
        res.attachment(`insights-${workspaceId}.xlsx`);
        res.send(await insightsXlsx(insights, `Prism insights ${workspaceId}`));
        return;
      }
      // What the next analyses learn from these figures: the statement their prompt carries.
      const { statement } = await deps.insights.preferencesAt(workspaceId, at);
      res.json({ ...insights, learned: statement, version: at.version });
    }),
  );

  return router;
}
