import type { Assessment } from '../domain/jeopardy';
import type { Jeopardy, OrderState } from '../domain/orchestration';
import type { Actor } from '../domain/roles';

/** An order with a due date as the watch lists it. */
export interface WatchedOrder {
  id: string;
  state: OrderState;
  dueDate: string;
  expectedCompletionDate?: string;
  jeopardy?: Jeopardy;
  submittedBy?: Actor;
}

/** Orders with a due date: what was last assessed of them, and when each is to be looked at again. */
export interface OrderWatch {
  /**
   * Keeps an assessment on its order (jeopardy.ts): its jeopardy (or none), its expected completion, and
   * when to look again; without `nextCheckAt` the order leaves the watch. Only onto the order as it was
   * read for the assessment (its `updatedAt`): one changed meanwhile is the next assessment's.
   */
  record(orderId: string, assessment: Assessment, at: string, readAt: string): Promise<void>;
  /** The orders whose next look is due at `now`, at most `limit`. */
  due(now: string, limit: number): Promise<string[]>;
  /** Every watched order in jeopardy, longest in jeopardy first. */
  inJeopardy(): Promise<WatchedOrder[]>;
}
