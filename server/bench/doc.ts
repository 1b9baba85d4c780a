/** What the benchmarks share: the document they upload and the HTTP calls that set a review up. */
import { Document, HeadingLevel, Packer, Paragraph } from 'docx';

/** A small two-section report for benchmarks. */
export const makeDoc = (): Promise<Buffer> =>
  Packer.toBuffer(
    new Document({
      sections: [
        {
          children: [
            new Paragraph({ text: 'Summary', heading: HeadingLevel.HEADING_1 }),
            new Paragraph('The service was unavailable for four hours.'),
            new Paragraph({ text: 'Actions', heading: HeadingLevel.HEADING_1 }),
            new Paragraph('Add alerting on queue depth.'),
          ],
        },
      ],
    }),
  );

/** POST `path` with a JSON body (as `token` when given); the parsed answer, or a thrown HTTP error. */
export async function post<T>(base: string, path: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A new person's session token. */
export const session = async (base: string, name: string): Promise<string> =>
  (await post<{ token: string }>(base, '/api/session', { name })).token;

/** Uploads `doc` as a new review owned by `token`; its id. */
export async function uploadReview(base: string, token: string, doc: Uint8Array): Promise<string> {
  const form = new FormData();
  form.set('file', new Blob([doc]), 'bench.docx');
  const res = await fetch(`${base}/api/reviews`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  if (res.status !== 201) throw new Error(`upload: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { review: { id: string } }).review.id;
}
