import type { CancellationRecord, CancellationState } from '../domain/cancel-product-order';
import type { OrderState } from '../domain/orchestration';

/** What a cancellation's end records: why it failed, or when the order became cancelled. */
export interface CancellationEnd {
  errorMessage?: string;
  effectiveCancellationDate?: string;
  endedAt: string;
}

/** TMF622 CancelProductOrder records: one per cancellation asked for, kept after it ends. */
export interface CancellationStore {
  /**
   * Keeps a new cancellation (acknowledged) and moves its order to `assessingCancellation`, in one
   * transaction, only while the order is still `from` and no other cancellation of it is under way.
   * False when the order moved meanwhile: nothing is written.
   */
  start(record: CancellationRecord, from: OrderState): Promise<boolean>;
  get(id: string): Promise<CancellationRecord | undefined>;
  /**
   * Newest first; only those of orders `orderSubmittedBy` submitted, when given; those of one order,
   * when `orderId` is; those in one state, when `state` is.
   */
  list(query: {
    orderSubmittedBy?: string;
    state?: CancellationState;
    orderId?: string;
    after?: string;
    limit: number;
  }): Promise<{ cancellations: CancellationRecord[]; next?: string }>;
  /** Moves the cancellation on, if it is in one of `from`; false otherwise. */
  setState(
    id: string,
    from: readonly CancellationState[],
    to: CancellationState,
    end?: CancellationEnd,
  ): Promise<boolean>;
}
