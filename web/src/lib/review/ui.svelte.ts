/** State of one room page that is about the screen, not the review: tabs, drafts, selection, dialogs. */
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
  helpOpen = $state(false);
  /** Narrow screens: the right panel is a drawer. */
  drawerOpen = $state(false);
  zoom = $state(1);
  thinking = $state(false);
  /** Set to ask the findings list to scroll to and focus a card. */
  reveal = $state<{ id: string; at: number } | null>(null);
  /** Set to ask the document pane to scroll to a finding's quote. */
  showQuote = $state<{ id: string; at: number } | null>(null);
  /** Set to ask the assistant panel to focus its message box. */
  focusChat = $state(0);

  openDraft(draft: FeedbackDraft): void {
    this.draft = draft;
    this.selection = null;
    this.tab = 'findings';
    this.drawerOpen = true;
  }

  revealFinding(id: string): void {
    this.tab = 'findings';
    this.drawerOpen = true;
    this.reveal = { id, at: Date.now() };
  }
}
