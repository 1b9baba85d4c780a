/**
 * Who is here, on which section, typing or not, reaches people on other instances through the
 * Redis adapter; and an upload with analyze=true starts the review's analysis at once.
 */
import type { PresenceMember } from '@prism/core';
import { describe, expect, it } from 'vitest';
import {
  api,
  call,
  cleanupKeys,
  connect,
  makeDocx,
  ReviewFeed,
  session,
  startServer,
  startWorker,
  uniquePrefix,
  upload,
  waitFor,
} from '../../test/helpers.ts';
import { RulesProvider } from '../../worker/src/ai/rules.ts';

describe('presence and analyze on upload', () => {
  it('shows a person on another instance, their section and typing; and analyze=true starts analysis', async () => {
    const prefix = uniquePrefix('presence');
    cleanupKeys(prefix);
    const a = await startServer(prefix);
    const b = await startServer(prefix);
    await startWorker(prefix, new RulesProvider());
    const owner = await session(a.url, 'Olga');
    const doc = await makeDocx([
      { title: 'Summary', paragraphs: ['The decision was made by the the committee.'] },
      {
        title: 'Actions',
        paragraphs: ['In order to utilize the tool, staff should perhaps attend training.'],
      },
    ]);
    const res = await upload(a.url, owner.token, doc, { analyze: 'true' });
    expect(res.status).toBe(201);
    const { review } = (await res.json()) as { review: { id: string; sections: { id: string }[] } };

    const invite = (await (
      await api(a.url, owner.token, `/api/reviews/${review.id}/invites`, {
        method: 'POST',
        body: JSON.stringify({ role: 'reviewer' }),
      })
    ).json()) as { token: string };
    const ravi = await session(b.url, 'Ravi');
    await api(b.url, ravi.token, '/api/invites/accept', {
      method: 'POST',
      body: JSON.stringify({ token: invite.token }),
    });

    const olgaSocket = await connect(a.url, owner.token);
    const seen: PresenceMember[][] = [];
    olgaSocket.on('presence', (payload) => {
      if (payload.reviewId === review.id) seen.push(payload.members);
    });
    const feed = new ReviewFeed(olgaSocket, review.id);
    const joined = await feed.join();
    const raviSocket = await connect(b.url, ravi.token);
    await call(raviSocket, 'review:join', { reviewId: review.id });
    const second = review.sections[1]!.id;
    expect(
      (await call(raviSocket, 'presence:update', { reviewId: review.id, sectionId: second, typing: true }))
        .ok,
    ).toBe(true);

    const raviSeen = () => seen.at(-1)?.find((m) => m.user.name === 'Ravi');
    await waitFor(() => raviSeen()?.typing === true, 5000, 'Ravi typing, seen on the other instance');
    expect(raviSeen()).toMatchObject({ role: 'reviewer', sectionId: second, online: true });
    expect(seen.at(-1)!.find((m) => m.user.name === 'Olga')).toMatchObject({ role: 'owner', online: true });

    raviSocket.disconnect();
    await waitFor(() => raviSeen()?.online === false, 5000, 'Ravi gone');

    // The upload asked for analysis: every section ends done without anyone pressing a button.
    const status = () => {
      const current = new Map<string, string>(
        joined.sections.map((x: { id: string; status: string }) => [x.id, x.status]),
      );
      for (const e of feed.events)
        if (e.type === 'section.status') current.set(e.data.sectionId, e.data.status);
      return [...current.values()];
    };
    await waitFor(() => status().every((x) => x === 'done'), 20_000, 'the analysis the upload started');
  });
});
