// Shapes from CONTRACT.md section 5, as the browser sees them (JSON over HTTP and Socket.IO).

export type Role = 'owner' | 'reviewer' | 'viewer';

export interface User {
  id: string;
  name: string;
}

export interface SectionSummary {
  id: string;
  title: string;
  level: number;
  index: number;
}

export type SectionStatus = 'idle' | 'queued' | 'analyzing' | 'done' | 'failed' | 'cancelled';

export interface Section extends SectionSummary {
  /** Sanitized by the server. */
  html: string;
  text: string;
  status: SectionStatus;
}

export interface ReviewSummary {
  id: string;
  title: string;
  createdAt: string;
  owner: User;
  role: Role;
  sections: SectionSummary[];
}

export type FeedbackType = 'critical' | 'important' | 'suggestion' | 'positive';
export type Risk = 'high' | 'medium' | 'low';
export type FeedbackStatus = 'pending' | 'accepted' | 'rejected';

export interface FeedbackItem {
  id: string;
  sectionId: string;
  type: FeedbackType;
  category: string;
  description: string;
  suggestion?: string;
  example?: string;
  questions: string[];
  refs: number[];
  risk: Risk;
  confidence: number;
  quote?: string;
  linkedTo?: string;
  source: 'ai' | 'rules' | 'user';
  model?: string;
  status: FeedbackStatus;
  decidedBy?: User;
  decidedAt?: string;
  createdBy: User;
  createdAt: string;
  version: number;
}

export interface ChatMessage {
  id: string;
  role: 'user' | 'assistant';
  author: User;
  text: string;
  createdAt: string;
  status: 'streaming' | 'done' | 'failed';
  lastIndex?: number;
  model?: string;
  sectionId?: string;
}

export interface Member {
  user: User;
  role: Role;
  online: boolean;
}

export interface ReviewSnapshot extends Omit<ReviewSummary, 'sections'> {
  seq: number;
  sections: Section[];
  feedback: FeedbackItem[];
  chat: ChatMessage[];
  members: Member[];
  stats: unknown;
}

export interface ErrorBody {
  error: { code: string; message: string };
}
