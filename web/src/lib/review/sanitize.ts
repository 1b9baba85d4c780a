import DOMPurify from 'dompurify';

const cache = new Map<string, string>();

/** Section HTML from the server, sanitized again in the browser before it is shown. */
export function sanitize(html: string): string {
  const cached = cache.get(html);
  if (cached !== undefined) return cached;
  const clean = DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'],
    FORBID_ATTR: ['style'],
  });
  if (cache.size > 200) cache.clear();
  cache.set(html, clean);
  return clean;
}
