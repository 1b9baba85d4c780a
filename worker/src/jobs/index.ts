/** The worker's handler table: one handler per job declared in core. */
import { UnrecoverableError } from 'bullmq';
import { analyzeSection } from './analysis.ts';
import { replyToChat } from './chat.ts';
import type { HandlerTable } from './types.ts';

export const handlers: HandlerTable = {
  'analysis.section': analyzeSection,
  'chat.reply': replyToChat,
  async 'export.package'() {
    throw new UnrecoverableError('Review packages are written by a later version of the worker.');
  },
};
