/**
 * Security headers on every response (pages, API, downloads) through helmet: a Content-Security-Policy
 * the built web app passes with no inline-script exception beyond its own bootstrap script, framing
 * refused (`frame-ancestors 'none'`, `X-Frame-Options: DENY`), `nosniff`, `Referrer-Policy:
 * no-referrer`, and HSTS only on requests that arrived over HTTPS (behind TRUST_PROXY, as the load
 * balancer says), so plain-HTTP development is never pinned to HTTPS.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import helmet, { strictTransportSecurity } from 'helmet';

/**
 * The `'sha256-...'` sources of the inline scripts of a page: SvelteKit's static build starts the
 * app from one inline script in index.html, whose hash changes with every build, so it is read
 * from the build the server serves.
 */
export function inlineScriptHashes(html: string): string[] {
  const hashes = new Set<string>();
  for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    if (/\bsrc\s*=/i.test(match[1] ?? '')) continue;
    hashes.add(
      `'sha256-${createHash('sha256')
        .update(match[2] ?? '')
        .digest('base64')}'`,
    );
  }
  return [...hashes];
}

/** The policy Prism's pages need (the same as web/vite.config.ts `kit.csp`, plus framing refused). */
export function contentSecurityPolicy(scriptHashes: string[]): Record<string, string[]> {
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'", ...scriptHashes],
    // Svelte writes style attributes (transitions, `style:`); no script can come through styles.
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'"],
    // 'self' covers the same-origin websocket (ws:/wss:) in CSP Level 3 browsers.
    'connect-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  };
}

/** The middleware; `indexHtml` is the built web app's index.html when it is served. */
export function securityHeaders(indexHtml: string | undefined): RequestHandler[] {
  const hsts = strictTransportSecurity({ maxAge: 365 * 24 * 3600, includeSubDomains: true });
  return [
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: contentSecurityPolicy(indexHtml ? inlineScriptHashes(indexHtml) : []),
      },
      strictTransportSecurity: false,
      referrerPolicy: { policy: 'no-referrer' },
      xFrameOptions: { action: 'deny' },
    }),
    (req, res, next) => (req.secure ? hsts(req, res, next) : next()),
  ];
}
