/** State of one room page that is about the screen, not the review: tabs, drafts, selection, dialogs. */
import { SvelteSet } from 'svelte/reactivity';
import { type FindingFilters, NO_FILTERS } from './findings.ts';

export type PanelTab = 'findings' | 'assistant' | 'activity';

export interface FeedbackDraft {
  sectionId: string;
  quote?: string;
  linkedTo?: string;
}

export interface DocumentSelection {
  sectionId: string;
  quote: string;
  /** Where to show the "Add feedback" popover, relative to the document pane. */
  top: number;
  left: number;
}

export class RoomUi {
  tab = $state<PanelTab>('findings');
  /** The feedback form is open with this draft. */
  draft = $state<FeedbackDraft | null>(null);
  /** Text selected in the document. */
  selection = $state<DocumentSelection | null>(null);
  /** The finding hovered or focused: its quote glows in the document. */
  activeId = $state<string | null>(null);
  statsOpen = $state(false);
  inviteOpen = $state(false);
  submitOpen = $state(false);
  /** The owner's archive or delete dialog, while open. */
  ending = $state<'archive' | 'delete' | null>(null);
  helpOpen = $state(false);
  /** Narrow screens: the right panel is a drawer. */
  drawerOpen = $state(false);
  zoom = $state(1);
  thinking = $state(false);
  /** Set to ask the findings list to scroll to and focus a card. */
  reveal = $state<{ id: string; at: number; block?: 'center' | 'nearest' } | null>(null);
  /** Set to ask the document pane to scroll to a finding's quote. */
  /** `quiet`: the keyboard moved to the finding; scroll only if its quote is out of view, no flash. */
  showQuote = $state<{ id: string; at: number; quiet?: boolean } | null>(null);
  /** Set to ask the assistant panel to focus its message box. */
  focusChat = $state(0);
  /** The findings list's filters. */
  filters = $state<FindingFilters>({ ...NO_FILTERS });
  /** The findings list shows every section's findings, not only the selected section's. */
  allSections = $state(false);
  /** Cards opened to show their suggestion, questions and evidence. */
  readonly open = new SvelteSet<string>();
  /** The finding the keyboard is on (j/k, n): focused and kept in view. */
  currentId = $state<string | null>(null);

  toggleOpen(id: string, open = !this.open.has(id)): void {
    if (open) this.open.add(id);
    else this.open.delete(id);
  }

  clearFilters(): void {
    this.filters = { ...NO_FILTERS };
  }

  openDraft(draft: FeedbackDraft): void {
    this.draft = draft;
    this.selection = null;
    this.tab = 'findings';
    this.drawerOpen = true;
  }

  /** Shows a finding's card in the list: opens it, scrolls it into view and focuses it. */
  revealFinding(id: string, options: { open?: boolean; block?: 'center' | 'nearest' } = {}): void {
    const { open = true, block = 'center' } = options;
    this.tab = 'findings';
    this.drawerOpen = true;
    this.currentId = id;
    if (open) this.open.add(id);
    this.reveal = { id, at: Date.now(), block };
  }
}
