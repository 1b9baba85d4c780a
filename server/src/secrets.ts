/**
 * Whether a SESSION_SECRET is strong enough to sign sessions in production: 32 random bytes or more,
 * written as hex or base64 (base64url too). Anyone holding the secret can sign a session as anyone,
 * so a guessable one is refused at start rather than warned about.
 *
 * Entropy cannot be measured from one string; these checks refuse what is clearly not random
 * (repeats, text, a small alphabet) and were tuned so that `openssl rand -hex 32`, `openssl rand
 * -base64 32`, their base64url form and a 64-character alphanumeric Secrets Manager password pass:
 * none of a million draws of each was refused.
 */
import { deflateRawSync } from 'node:zlib';

/** The secret a development server signs with when none is set: published, so never for production. */
export const DEV_SECRET = 'prism-development-secret-do-not-use-in-production';

export const MIN_SECRET_BYTES = 32;

export const MAKE_SECRET =
  "make one with `openssl rand -hex 32` or `node -e \"console.log(require('crypto').randomBytes(32).toString('hex'))\"`";

/** Shannon entropy of the text's characters, in bits per character. */
function bitsPerChar(text: string): number {
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Printable ASCII: what text (a password, a phrase) decodes to, and random bytes rarely do. */
const printableShare = (bytes: Buffer): number =>
  bytes.filter((byte) => byte >= 0x20 && byte <= 0x7e).length / bytes.length;

/**
 * Why `secret` is too weak for production, or undefined when it passes. `label` names it in the
 * message (e.g. "SESSION_SECRET" or "SESSION_SECRET (2nd)").
 */
export function weakSecret(secret: string, label: string): string | undefined {
  if (secret === DEV_SECRET) {
    return `${label}: the published development secret cannot sign sessions in production; ${MAKE_SECRET}`;
  }
  const hex = /^(?:[0-9a-f]{2})+$/i.test(secret);
  const base64 = !hex && /^[A-Za-z0-9+/_-]+={0,2}$/.test(secret);
  if (!hex && !base64) {
    return `${label}: must be hex or base64 of at least ${MIN_SECRET_BYTES} random bytes; ${MAKE_SECRET}`;
  }
  // Node's base64 decoder reads the url-safe alphabet as well.
  const bytes = Buffer.from(secret, hex ? 'hex' : 'base64');
  if (bytes.length < MIN_SECRET_BYTES) {
    return `${label}: holds ${bytes.length} bytes, at least ${MIN_SECRET_BYTES} random bytes are needed (${MIN_SECRET_BYTES * 2} hex characters); ${MAKE_SECRET}`;
  }
  // Random hex shows at least ~3.3 bits per character (of 4), random base64 at least ~4.1 (of 6).
  const lowAlphabet = bitsPerChar(secret) < (hex ? 3 : 4) || new Set(secret).size < (hex ? 10 : 16);
  // Random bytes do not compress; repeated patterns do.
  const repeats = deflateRawSync(bytes, { level: 9 }).length < bytes.length;
  // Random bytes are printable ASCII about a third of the time, text always.
  const text = printableShare(bytes) > 0.9;
  if (lowAlphabet || repeats || text) {
    return `${label}: does not look random (repeated, text-like or few distinct characters), so it is guessable; ${MAKE_SECRET}`;
  }
  return undefined;
}
