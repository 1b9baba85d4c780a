/** The worker's handler table: one handler per job declared in core. */
import { analyzeSection } from './analysis.ts';
import { replyToChat } from './chat.ts';
import { judgeChecklist } from './checklist.ts';
import { checkConsistency } from './consistency.ts';
import { probeAi } from './diagnostics.ts';
import { writePackage } from './export.ts';
import type { HandlerTable } from './types.ts';

export const handlers: HandlerTable = {
  'analysis.section': analyzeSection,
  'analysis.document': checkConsistency,
  'analysis.checklist': judgeChecklist,
  'chat.reply': replyToChat,
  'export.package': writePackage,
  'diagnostics.ai': probeAi,
};
