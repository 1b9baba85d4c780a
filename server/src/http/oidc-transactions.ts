/**
 * Login transactions: what `/auth/login` must hand to `/auth/callback` (the PKCE verifier, the
 * nonce, where to go back to), kept in Redis under the `state` for ten minutes and taken once.
 *
 * Why Redis and not a signed cookie: any instance may receive the callback, and every instance
 * reads the same Redis; GETDEL makes a transaction usable exactly once on all of them, so a
 * replayed callback is refused before the provider ever sees its code again; and the verifier and
 * nonce never leave the server. The browser holds only the `state` (in the `prism_login` cookie),
 * which binds the transaction to the browser that started it: a callback link made by someone
 * else's login cannot sign this browser in as them.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const LOGIN_TTL_S = 600;
export const LOGIN_COOKIE = 'prism_login';

const Transaction = z.object({
  nonce: z.string().min(1),
  verifier: z.string().min(43).max(128),
  returnTo: z.string().startsWith('/'),
});
export type LoginTransaction = z.infer<typeof Transaction>;

/** The two Redis commands this needs (a single Redis or a Cluster: one key, one slot). */
export interface TransactionRedis {
  set(key: string, value: string, mode: 'EX', seconds: number): Promise<unknown>;
  getdel(key: string): Promise<string | null>;
}

export class LoginTransactions {
  private readonly redis: TransactionRedis;
  private readonly prefix: string;

  constructor(redis: TransactionRedis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  /** The key holds a hash of the state (its own hash tag), never the state itself. */
  private key(state: string): string {
    return `${this.prefix}oidc:login:{${createHash('sha256').update(state).digest('base64url')}}`;
  }

  async put(state: string, transaction: LoginTransaction): Promise<void> {
    await this.redis.set(this.key(state), JSON.stringify(transaction), 'EX', LOGIN_TTL_S);
  }

  /** The transaction started with `state`, removed as it is read; undefined when used, expired or unknown. */
  async take(state: string): Promise<LoginTransaction | undefined> {
    const raw = await this.redis.getdel(this.key(state));
    if (!raw) return undefined;
    try {
      const parsed = Transaction.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
}

const BASE = 'http://prism.invalid';

/**
 * Where a sign-in may send the browser back to: a path on Prism itself, else `/`. Refuses
 * protocol-relative (`//evil`, `/\evil`, `/..//evil` once normalised, `/%2F%2Fevil` once decoded), absolute URLs, control
 * characters and whitespace (browsers drop tabs and newlines: `/\t/evil` is `//evil` to them), and
 * Prism's own `/auth/` routes (a loop). What it returns is the normalised path, query and fragment.
 */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2000) return '/';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
  if (!value.startsWith('/') || /[\\\s\u0000-\u001f\u007f]/.test(value) || value.startsWith('//')) return '/';
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return '/';
  }
  if (url.origin !== BASE) return '/';
  const path = `${url.pathname}${url.search}${url.hash}`;
  if (!path.startsWith('/') || path.startsWith('//') || /^\/auth(\/|$)/.test(url.pathname)) return '/';
  // Encoded tricks: a path that decodes to `//host` or holds a backslash is refused too, in case
  // anything between here and the browser decodes it once more.
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    return '/';
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
  if (decoded.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(decoded)) return '/';
  return path;
}
