import { describe, expect, it } from 'vitest';
import { DEFAULT_REVIEW_RUBRIC } from '../../../../core/src/checklist.ts';
import type {
  ChatMessage,
  ClientEventName,
  FeedbackItem,
  PayloadOf,
  ResponseOf,
  ReviewEvent,
  ReviewEventData,
  ReviewEventType,
  ReviewSnapshot,
  ServerToClientEvents,
  User,
} from '../types.ts';
import { type Notice, Room, type RoomTransport } from './room.svelte.ts';
import { feedbackItem, PRISM } from './test-items.ts';

const ME: User = { id: 'u-me', name: 'Mia' };
const ANA: User = { id: 'u-ana', name: 'Ana' };
const REVIEW = 'r1';

type Responder = (payload: any) => unknown;

class FakeTransport implements RoomTransport {
  connected = true;
  sent: { event: ClientEventName; payload: any }[] = [];
  responders: Partial<Record<ClientEventName, Responder>> = {};
  /** Requests whose answer the test releases by hand. */
  held: { event: ClientEventName; resolve: (value: unknown) => void; payload: any }[] = [];
  holding = new Set<ClientEventName>();
  #handlers = new Map<string, Set<(...args: any[]) => void>>();
  #connect = new Set<() => void>();

  request<E extends ClientEventName>(event: E, payload: PayloadOf<E>): Promise<ResponseOf<E>> {
    this.sent.push({ event, payload });
    if (this.holding.has(event)) {
      return new Promise((resolve) =>
        this.held.push({ event, payload, resolve: resolve as (v: unknown) => void }),
      );
    }
    const responder = this.responders[event];
    return Promise.resolve((responder ? responder(payload) : { ok: true }) as ResponseOf<E>);
  }

  on<E extends keyof ServerToClientEvents>(event: E, handler: ServerToClientEvents[E]): () => void {
    const set = this.#handlers.get(event) ?? new Set();
    set.add(handler as (...args: any[]) => void);
    this.#handlers.set(event, set);
    return () => set.delete(handler as (...args: any[]) => void);
  }

  onConnect(handler: () => void): () => void {
    this.#connect.add(handler);
    return () => this.#connect.delete(handler);
  }

  dispatch(event: keyof ServerToClientEvents, payload: unknown): void {
    for (const handler of this.#handlers.get(event) ?? []) handler(payload);
  }

  push(...events: ReviewEvent[]): void {
    for (const event of events) this.dispatch('review:event', event);
  }

  reconnect(): void {
    this.connected = true;
    for (const handler of this.#connect) handler();
  }

  joins(): any[] {
    return this.sent.filter((s) => s.event === 'review:join').map((s) => s.payload);
  }
}

/** Created in id order (the room lists a section's items by creation). */
const item = (id: string, overrides: Partial<FeedbackItem> = {}): FeedbackItem =>
  feedbackItem(id, { createdAt: `2026-11-01T10:00:00.${id.padStart(3, '0').slice(-3)}Z`, ...overrides });

function snapshot(overrides: Partial<ReviewSnapshot> = {}): ReviewSnapshot {
  return {
    id: REVIEW,
    title: 'Contributor agreement',
    createdAt: '2026-11-01T09:00:00.000Z',
    owner: ME,
    role: 'owner',
    status: 'open',
    progress: { decided: 0, total: 0 },
    updatedAt: '2026-11-01T09:00:00.000Z',
    seq: 3,
    sections: [
      { id: 's1', title: 'Intro', level: 1, index: 0, html: '<p>Hello</p>', text: 'Hello', status: 'idle' },
      { id: 's2', title: 'Terms', level: 1, index: 1, html: '<p>Terms</p>', text: 'Terms', status: 'idle' },
    ],
    feedback: [],
    chat: [],
    members: [{ user: ME, role: 'owner', online: true }],
    stats: {
      total: 0,
      byType: {},
      byRisk: {},
      byStatus: {},
      bySource: {},
      bySection: {},
      usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, models: {} },
    },
    rubric: DEFAULT_REVIEW_RUBRIC,
    checklist: [],
    ...overrides,
  };
}

function event<T extends ReviewEventType>(
  seq: number,
  type: T,
  data: ReviewEventData[T],
  actor = PRISM,
): ReviewEvent {
  return {
    reviewId: REVIEW,
    seq,
    type,
    at: `2026-11-01T10:00:${String(seq).padStart(2, '0')}.000Z`,
    actor,
    data,
  } as ReviewEvent;
}

const added = (seq: number, id: string, overrides: Partial<FeedbackItem> = {}) =>
  event(seq, 'feedback.added', { item: item(id, overrides) });

/** A room joined to `snap`, with a hand-driven animation frame. */
async function setup(snap: ReviewSnapshot = snapshot()) {
  const transport = new FakeTransport();
  transport.responders['review:join'] = (payload) =>
    payload.since === undefined ? { ok: true, snapshot: snap } : { ok: true, events: [] };
  const frames: (() => void)[] = [];
  const notices: Notice[] = [];
  const room = new Room(REVIEW, {
    transport,
    me: ME,
    schedule: (flush) => frames.push(flush),
    notify: (notice) => notices.push(notice),
  });
  room.start();
  await settle();
  const frame = () => {
    for (const flush of frames.splice(0)) flush();
  };
  return { room, transport, frame, notices };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('Room: snapshot and events', () => {
  it('applies the snapshot on join', async () => {
    const { room, transport } = await setup(snapshot({ feedback: [item('1')] }));
    expect(transport.joins()).toEqual([{ reviewId: REVIEW }]);
    expect(room.phase).toBe('ready');
    expect(room.seq).toBe(3);
    expect(room.title).toBe('Contributor agreement');
    expect(room.items.map((i) => i.id)).toEqual(['1']);
    expect(room.selectedSection?.id).toBe('s1');
  });

  it('knows whether a model analyses, from the snapshot', async () => {
    const rules = await setup(snapshot({ ai: { provider: 'rules' } }));
    expect(rules.room.ai).toEqual({ provider: 'rules' });
    expect(rules.room.hasModel).toBe(false);
    const bedrock = await setup(snapshot({ ai: { provider: 'bedrock', models: ['m'] } }));
    expect(bedrock.room.hasModel).toBe(true);
    const none = await setup(snapshot());
    expect(none.room.ai).toBeNull();
  });

  it('asks the model to think before a chat answer only when a model answers', async () => {
    const chats = (transport: FakeTransport) =>
      transport.sent.filter((s) => s.event === 'chat:send').map((s) => s.payload);
    const bedrock = await setup(snapshot({ ai: { provider: 'bedrock', models: ['m'] } }));
    await bedrock.room.sendChat('Why?', 's1', true);
    await bedrock.room.sendChat('And now?');
    expect(chats(bedrock.transport)).toEqual([
      { reviewId: REVIEW, text: 'Why?', sectionId: 's1', thinking: true },
      { reviewId: REVIEW, text: 'And now?' },
    ]);
    const rules = await setup(snapshot({ ai: { provider: 'rules' } }));
    await rules.room.sendChat('Why?', undefined, true);
    expect(chats(rules.transport)).toEqual([{ reviewId: REVIEW, text: 'Why?' }]);
  });

  it('applies events in one batch per frame, in seq order', async () => {
    const { room, transport, frame } = await setup();
    transport.push(added(5, 'b'), added(4, 'a'));
    transport.push(event(6, 'section.status', { sectionId: 's2', status: 'done', model: 'rules' }));
    expect(room.items).toHaveLength(0); // nothing until the frame
    frame();
    expect(room.seq).toBe(6);
    expect(room.items.map((i) => i.id)).toEqual(['a', 'b']);
    expect(room.sections[1]?.status).toBe('done');
    expect(room.sections[1]?.model).toBe('rules');
    expect(transport.joins()).toHaveLength(1); // no gap, no extra join
  });

  it('ignores duplicates and events at or below the current seq', async () => {
    const { room, transport, frame } = await setup(snapshot({ feedback: [item('x')] }));
    transport.push(added(2, 'old'), added(3, 'older'), added(4, 'a'), added(4, 'a-again'));
    frame();
    transport.push(added(4, 'a-replayed'));
    frame();
    expect(room.seq).toBe(4);
    expect(room.items.map((i) => i.id).sort()).toEqual(['a', 'x']);
    expect(transport.joins()).toHaveLength(1);
  });

  it('closes a gap with review:join {since} and applies the missing events in order', async () => {
    const { room, transport, frame } = await setup();
    transport.responders['review:join'] = (payload) => ({
      ok: true,
      events: [added(4, 'a'), added(5, 'b'), added(6, 'c')].filter((e) => e.seq > payload.since),
    });
    transport.push(added(6, 'c'), added(7, 'd'));
    frame();
    await settle();
    expect(transport.joins().at(-1)).toEqual({ reviewId: REVIEW, since: 3 });
    expect(room.seq).toBe(7);
    expect(room.items.map((i) => i.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('takes a reset snapshot when the log no longer reaches back', async () => {
    const { room, transport, frame } = await setup();
    transport.responders['review:join'] = () => ({
      ok: true,
      reset: true,
      snapshot: snapshot({ seq: 40, feedback: [item('k', { status: 'accepted', decidedBy: ANA })] }),
    });
    transport.push(added(41, 'after'), added(39, 'before'));
    frame();
    await settle();
    // The held event 41 follows the reset snapshot (40); 39 is already in it.
    expect(room.seq).toBe(41);
    expect(room.items.map((i) => i.id)).toEqual(['k', 'after']);
  });

  it('joins again with since after a reconnect and holds live events until the replay is in', async () => {
    const { room, transport, frame } = await setup();
    transport.push(added(4, 'a'));
    frame();
    transport.connected = false;
    transport.holding.add('review:join');
    transport.reconnect();
    expect(transport.joins().at(-1)).toEqual({ reviewId: REVIEW, since: 4 });
    expect(room.synced).toBe(false);
    // A live event arrives before the replay's ack: it must wait behind 5 and 6.
    transport.push(added(7, 'd'));
    frame();
    expect(room.seq).toBe(4);
    const join = transport.held.shift()!;
    join.resolve({ ok: true, events: [added(5, 'b'), added(6, 'c')] });
    await settle();
    expect(room.synced).toBe(true);
    expect(room.seq).toBe(7);
    expect(room.items.map((i) => i.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(transport.joins()).toHaveLength(2);
  });

  it('keeps section order, then creation order, for items', async () => {
    const { room, transport, frame } = await setup();
    transport.push(added(4, '2', { sectionId: 's2' }), added(5, '1', { sectionId: 's1' }));
    frame();
    expect(room.items.map((i) => i.id)).toEqual(['1', '2']);
  });

  it("orders items by the team's priority (rank), or where they are in the document on request", async () => {
    const { room, transport, frame } = await setup();
    transport.push(
      added(4, '1', {
        sectionId: 's1',
        rank: 0.2,
        collapsed: 'Your team rejected 9 of 10 “style” findings.',
      }),
      added(5, '2', { sectionId: 's1', rank: 0.9 }),
      added(6, '3', { sectionId: 's1' }),
      added(7, '4', { sectionId: 's2', rank: 0.95 }),
    );
    frame();
    // Unranked items (made before ranking, or by people) sit at 0.5; equal ranks keep section order.
    expect(room.items.map((i) => i.id)).toEqual(['4', '2', '3', '1']);
    room.setOrder('document');
    expect(room.items.map((i) => i.id)).toEqual(['1', '2', '3', '4']);
    room.setOrder('rank');
    expect(room.items.map((i) => i.id)).toEqual(['4', '2', '3', '1']);
  });

  it('leaves the items list as it was through frames that only move section statuses', async () => {
    const { room, transport, frame } = await setup(snapshot({ feedback: [item('1'), item('2')] }));
    const before = room.items;
    transport.push(event(4, 'section.status', { sectionId: 's1', status: 'queued' }));
    frame();
    transport.push(event(5, 'section.status', { sectionId: 's1', status: 'analyzing' }));
    frame();
    expect(room.sections[0]?.status).toBe('analyzing');
    // The same array: nothing that reads the items (list, counts, charts) runs again.
    expect(room.items).toBe(before);
    transport.push(added(6, '3'), event(7, 'section.status', { sectionId: 's1', status: 'done' }));
    frame();
    expect(room.items.map((i) => i.id)).toEqual(['1', '2', '3']);
  });

  it('applies updates by version and removes deleted items', async () => {
    const { room, transport, frame } = await setup(snapshot({ feedback: [item('1'), item('2')] }));
    transport.push(
      event(
        4,
        'feedback.updated',
        { item: item('1', { status: 'rejected', decidedBy: ANA, version: 2 }) },
        ANA,
      ),
      event(5, 'feedback.deleted', { item: item('2') }, ANA),
    );
    frame();
    expect(room.items).toHaveLength(1);
    expect(room.items[0]?.status).toBe('rejected');
    expect(room.activity.map((a) => a.text)).toEqual([
      expect.stringContaining('rejected'),
      expect.stringContaining('deleted'),
    ]);
  });
});

describe('Room: decisions', () => {
  it('shows a decision at once and keeps the server item after the ack', async () => {
    const { room, transport, frame } = await setup(snapshot({ feedback: [item('1')] }));
    transport.holding.add('feedback:decide');
    const done = room.decide('1', 'accepted');
    expect(room.items[0]?.status).toBe('accepted');
    expect(room.items[0]?.decidedBy).toEqual(ME);
    expect(room.deciding.has('1')).toBe(true);
    await settle();
    const sent = transport.held.shift()!;
    expect(sent.payload).toEqual({ reviewId: REVIEW, feedbackId: '1', status: 'accepted', version: 1 });
    const server = item('1', { status: 'accepted', decidedBy: ME, version: 2 });
    sent.resolve({ ok: true, item: server });
    await done;
    expect(room.items[0]).toEqual(server);
    expect(room.deciding.size).toBe(0);
    // The event of our own decision arrives too: same version, nothing changes.
    transport.push(event(4, 'feedback.updated', { item: server }, ME));
    frame();
    expect(room.items).toEqual([server]);
    // The activity feed reads it as a decision, although the ack had already brought the new status.
    expect(room.activity.at(-1)?.text).toMatch(/^accepted /);
  });

  it('rolls back on conflict and says who decided first', async () => {
    const { room, transport, notices } = await setup(snapshot({ feedback: [item('1')] }));
    const theirs = item('1', { status: 'rejected', decidedBy: ANA, version: 2 });
    transport.responders['feedback:decide'] = () => ({
      ok: false,
      error: { code: 'conflict', message: 'Ana changed this item first; it is now rejected.' },
      item: theirs,
    });
    const done = room.decide('1', 'accepted');
    expect(room.items[0]?.status).toBe('accepted');
    await done;
    expect(room.items[0]).toEqual(theirs);
    expect(notices).toHaveLength(1);
    expect(notices[0]?.message).toContain('Ana');
  });

  it('rolls back when the server refuses for another reason', async () => {
    const { room, transport, notices } = await setup(snapshot({ feedback: [item('1')] }));
    transport.responders['feedback:decide'] = () => ({
      ok: false,
      error: { code: 'offline', message: 'Not connected to Prism right now; try again in a moment.' },
    });
    await room.decide('1', 'rejected');
    expect(room.items[0]?.status).toBe('pending');
    expect(notices[0]?.kind).toBe('error');
  });

  it('sends a second click with the version the first produced', async () => {
    const { room, transport } = await setup(snapshot({ feedback: [item('1')] }));
    let version = 1;
    transport.responders['feedback:decide'] = (payload) => {
      if (payload.version !== version) return { ok: false, error: { code: 'conflict', message: 'stale' } };
      version += 1;
      return { ok: true, item: item('1', { status: payload.status, version }) };
    };
    const first = room.decide('1', 'accepted');
    const second = room.decide('1', 'pending');
    expect(room.items[0]?.status).toBe('pending');
    await Promise.all([first, second]);
    expect(room.items[0]?.status).toBe('pending');
    expect(room.items[0]?.version).toBe(2);
  });

  it('tells me who changed a decision I made moments ago, and what it is now', async () => {
    const { room, transport, frame, notices } = await setup(snapshot({ feedback: [item('1')] }));
    const mine = item('1', {
      status: 'accepted',
      decidedBy: ME,
      decidedAt: new Date().toISOString(),
      version: 2,
    });
    transport.responders['feedback:decide'] = () => ({ ok: true, item: mine });
    await room.decide('1', 'accepted');
    transport.push(event(4, 'feedback.updated', { item: mine }, ME));
    frame();
    expect(notices).toEqual([]);
    const theirs = item('1', {
      status: 'rejected',
      decidedBy: ANA,
      decidedAt: new Date().toISOString(),
      version: 3,
    });
    transport.push(event(5, 'feedback.updated', { item: theirs }, ANA));
    frame();
    expect(room.items[0]?.status).toBe('rejected');
    expect(notices).toHaveLength(1);
    expect(notices[0]?.message).toBe('Ana rejected “Finding 1”, which you accepted.');
    // Their next change is to a decision that is no longer mine: no second toast.
    transport.push(event(6, 'feedback.updated', { item: { ...theirs, status: 'pending', version: 4 } }, ANA));
    frame();
    expect(notices).toHaveLength(1);
  });

  it('says nothing when the decision someone changes was mine long ago', async () => {
    const old = item('1', {
      status: 'accepted',
      decidedBy: ME,
      decidedAt: '2020-01-01T00:00:00.000Z',
      version: 2,
    });
    const { room, transport, frame, notices } = await setup(snapshot({ feedback: [old] }));
    transport.push(
      event(
        4,
        'feedback.updated',
        { item: item('1', { status: 'rejected', decidedBy: ANA, version: 3 }) },
        ANA,
      ),
    );
    frame();
    expect(room.items[0]?.status).toBe('rejected');
    expect(notices).toEqual([]);
  });

  it('lets viewers change nothing', async () => {
    const { room, transport } = await setup(snapshot({ role: 'viewer', feedback: [item('1')] }));
    await room.decide('1', 'accepted');
    expect(room.canWrite).toBe(false);
    expect(room.items[0]?.status).toBe('pending');
    expect(transport.sent.filter((s) => s.event === 'feedback:decide')).toHaveLength(0);
  });
});

describe('Room: chat', () => {
  const question: ChatMessage = {
    id: 'q1',
    role: 'user',
    author: ANA,
    text: 'What does clause 2 say?',
    createdAt: '2026-11-01T10:00:00.000Z',
    status: 'done',
  };
  const reply: ChatMessage = {
    id: 'a1',
    role: 'assistant',
    author: PRISM,
    text: '',
    createdAt: '2026-11-01T10:00:00.001Z',
    status: 'streaming',
    replyTo: 'q1',
  };

  it('appends deltas to the streaming reply and finishes it with chat.done', async () => {
    const { room, transport, frame } = await setup();
    transport.push(
      event(4, 'chat.message', { message: question }, ANA),
      event(5, 'chat.message', { message: reply }),
      event(6, 'chat.delta', { messageId: 'a1', index: 0, text: 'Clause 2 ' }),
    );
    frame();
    expect(room.chat.map((m) => m.id)).toEqual(['q1', 'a1']);
    expect(room.chat[1]?.text).toBe('Clause 2 ');
    transport.push(event(7, 'chat.delta', { messageId: 'a1', index: 1, text: 'grants a licence.' }));
    frame();
    expect(room.chat[1]?.text).toBe('Clause 2 grants a licence.');
    transport.push(
      event(8, 'chat.done', {
        messageId: 'a1',
        text: 'Clause 2 grants a licence.',
        model: 'rules',
        usage: { inputTokens: 10, outputTokens: 5 },
      }),
    );
    frame();
    expect(room.chat[1]).toMatchObject({
      status: 'done',
      model: 'rules',
      text: 'Clause 2 grants a licence.',
    });
    expect(room.usage.inputTokens).toBe(10);
    expect(room.usage.models).toEqual({ rules: 1 });
  });

  it('continues a reply from a mid-reply snapshot without duplicating deltas', async () => {
    const midReply: ChatMessage = { ...reply, text: 'Clause 2 grants', lastIndex: 1 };
    const { room, transport, frame } = await setup(snapshot({ seq: 7, chat: [question, midReply] }));
    // A joiner may receive a few events at or below its snapshot, and the stream goes on.
    transport.push(
      event(6, 'chat.delta', { messageId: 'a1', index: 0, text: 'Clause 2 ' }),
      event(7, 'chat.delta', { messageId: 'a1', index: 1, text: 'grants' }),
      event(8, 'chat.delta', { messageId: 'a1', index: 2, text: ' a licence' }),
      event(9, 'chat.delta', { messageId: 'a1', index: 3, text: '.' }),
    );
    frame();
    expect(room.chat[1]?.text).toBe('Clause 2 grants a licence.');
    expect(room.chat[1]?.lastIndex).toBe(3);
  });

  it('skips deltas at or below lastIndex even when they come with new seqs (after a reset)', async () => {
    const midReply: ChatMessage = { ...reply, text: 'Hello wo', lastIndex: 1 };
    const { room, transport, frame } = await setup(snapshot({ seq: 7, chat: [question, midReply] }));
    transport.push(
      event(8, 'chat.delta', { messageId: 'a1', index: 1, text: 'wo' }),
      event(9, 'chat.delta', { messageId: 'a1', index: 2, text: 'rld' }),
    );
    frame();
    expect(room.chat[1]?.text).toBe('Hello world');
  });

  it('marks a failed reply', async () => {
    const { room, transport, frame } = await setup(snapshot({ chat: [question, reply] }));
    transport.push(
      event(4, 'chat.failed', { messageId: 'a1', error: { code: 'cancelled', message: 'Stopped by Ana.' } }),
    );
    frame();
    expect(room.chat[1]).toMatchObject({ status: 'failed', error: { message: 'Stopped by Ana.' } });
  });
});

describe('Room: presence and members', () => {
  it('keeps the presence list and who is typing', async () => {
    const { room, transport } = await setup();
    const members = [
      { user: ME, role: 'owner' as const, sectionId: 's1', typing: true, online: true },
      { user: ANA, role: 'reviewer' as const, sectionId: 's2', typing: true, online: true },
    ];
    transport.dispatch('presence', { reviewId: 'another-review', members: [] });
    expect(room.presence).toBeNull();
    // Presence is not an event of the log: it replaces the list at once.
    transport.dispatch('presence', { reviewId: REVIEW, members });
    expect(room.presence).toEqual(members);
    expect(room.typing).toEqual([ANA]);
  });

  it('adds members who join', async () => {
    const { room, transport, frame } = await setup();
    transport.push(event(4, 'member.joined', { user: ANA, role: 'reviewer' }, ANA));
    frame();
    expect(room.members.map((m) => m.user.name)).toEqual(['Mia', 'Ana']);
    expect(room.activity.at(-1)?.text).toBe('joined as reviewer');
  });
});
