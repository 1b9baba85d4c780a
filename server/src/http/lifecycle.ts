/**
 * A review's life over HTTP (CONTRACT 7.3): submit, reopen, and the review package as a zip built
 * on the fly. Thin: the rules are in the lifecycle service, the package in store/src/package.ts.
 */
import { PrismError } from '@prism/core';
import { buildPackage, type ObjectStore } from '@prism/store';
import type { Response } from 'express';
import { Router } from 'express';
import { strToU8, Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import type { LifecycleService } from '../domain/lifecycle.ts';
import type { ReviewService } from '../domain/review-service.ts';
import { requireJson, userOf } from './auth.ts';
import { route } from './errors.ts';

export interface LifecycleRoutesDeps {
  service: ReviewService;
  lifecycle: LifecycleService;
  objects: ObjectStore;
}

/** `attachment` with an ASCII fallback name and the exact one in RFC 5987 form. */
const attachment = (filename: string): string =>
  `attachment; filename="${filename.replace(/[^\x20-\x7e]+/g, '_').replace(/["\\]/g, '')}"; filename*=UTF-8''${encodeURIComponent(filename)}`;

/** The body must be a JSON object (it may be empty): a plain cross-site form cannot send one. */
export function requireObjectBody(req: Parameters<typeof requireJson>[0]): void {
  requireJson(req);
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
    throw new PrismError('invalid', 'Send a JSON object as the body; {} will do.');
  }
}

/**
 * Streams a zip of `files` under the folder `root/` to the response. The .docx files are zips
 * already and are stored as they are; the text files are deflated. Entries are written as they
 * are added, so only the package itself (already in memory) and one entry's output are held.
 */
function sendZip(
  res: Response,
  root: string,
  files: Record<string, Uint8Array | string>,
  at: Date,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const zip = new Zip((error, chunk, final) => {
      if (error) {
        reject(error);
        return;
      }
      res.write(chunk);
      if (final) {
        res.end();
        resolve();
      }
    });
    for (const [path, body] of Object.entries(files)) {
      const name = `${root}/${path}`;
      const entry = path.endsWith('.docx') ? new ZipPassThrough(name) : new ZipDeflate(name, { level: 6 });
      entry.mtime = at;
      zip.add(entry);
      entry.push(typeof body === 'string' ? strToU8(body) : body, true);
    }
    zip.end();
  });
}

export function lifecycleRoutes(deps: LifecycleRoutesDeps): Router {
  const { service, lifecycle, objects } = deps;
  const router = Router();

  router.post(
    '/reviews/:id/submit',
    route(async (req, res) => {
      requireObjectBody(req);
      res.json({ status: await lifecycle.submit(userOf(req), String(req.params.id)) });
    }),
  );

  router.post(
    '/reviews/:id/reopen',
    route(async (req, res) => {
      requireObjectBody(req);
      res.json({ status: await lifecycle.reopen(userOf(req), String(req.params.id)) });
    }),
  );

  router.get(
    '/reviews/:id/package',
    route(async (req, res) => {
      const reviewId = String(req.params.id);
      await service.authorize(reviewId, userOf(req), 'review:read');
      const at = new Date();
      const { folder, files } = await buildPackage(service.store, objects, reviewId, at);
      // `Logs and data/<YYYYMMDD_HHMMSS>_<name>/` in the store; the download is that folder, zipped.
      const root = folder.replace(/^Logs and data\//, '').replace(/\/$/, '');
      res
        .status(200)
        .type('application/zip')
        .set('content-disposition', attachment(`${root}.zip`))
        .set('cache-control', 'no-store');
      await sendZip(res, root, files, at).catch((error: unknown) => {
        // Headers are gone: all that is left is to cut the download short so it is not taken as whole.
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    }),
  );

  return router;
}
