import type { ItemDispatch } from '../../statemachines/compile-plan';
import type { Authenticator } from '../domain/authenticator';
import type { CallbackKeyRing } from '../domain/callback-keys';
import type { Catalog } from '../domain/catalog';
import type { AvailabilityEvents } from '../ports/availability-events';
import type { CalloutLimits } from '../ports/callout-limits';
import type { CancellationStore } from '../ports/cancellation-store';
import type { ConfigurationStore } from '../ports/configuration-store';
import type { HttpClient } from '../ports/http-client';
import type { OrderStore } from '../ports/order-store';
import type { PlanRunner } from '../ports/plan-runner';
import type { PlanTasks } from '../ports/plan-tasks';
import type { RetryRuleStore } from '../ports/retry-rule-store';
import type { Telemetry } from '../ports/telemetry';
import type {
  CallbackDeadlineMessage,
  CancelOrderMessage,
  HealthProbeMessage,
  PollStatusMessage,
  StartItemMessage,
  WorkQueue,
} from '../ports/work-queue';

/**
 * What the worker's use cases need from outside: the ports, the catalog, the clock, and the messages
 * it takes.
 */

export interface CallbackIssuer {
  /** The API's base URL: callbacks go to `<baseUrl>/callbacks/{correlationId}/{proof}`. */
  baseUrl: string;
  /** The ring of keys that sign callback URLs (domain/callback-keys.ts). */
  keys(): Promise<CallbackKeyRing>;
}

export interface RunItemDeps {
  store: OrderStore;
  tasks: PlanTasks;
  queue: WorkQueue;
  http: HttpClient;
  catalog: Catalog;
  /** Where systems send asynchronous answers, and the key that signs the URLs. */
  callbacks: CallbackIssuer;
  /** Systems and interfaces as they are now. */
  config: ConfigurationStore;
  limits: CalloutLimits;
  /** The operators' connection retry rules, read at every retry decision. */
  rules: RetryRuleStore;
  auth: Authenticator;
  /** Announces a system the circuit breaker took Down or brought back Up. */
  events: AvailabilityEvents;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  /** The metrics operators watch and the spans of the trace. */
  telemetry: Telemetry;
  /**
   * What carrying out a cancellation needs besides (use-cases/cancel-order.ts): the worker has both;
   * a worker built without them (a test's that sends no cancellation) refuses a `cancel` message.
   */
  cancellations?: CancellationStore;
  plans?: PlanRunner;
  /**
   * Starts the dependents a finished item made ready. The worker runs them itself, in the invocation
   * that finished their last prerequisite (follow-on.ts); without it, they are sent to the work queue.
   */
  startReady?: (messages: StartItemMessage[]) => Promise<void>;
}

export type WorkMessage =
  | ItemDispatch
  | StartItemMessage
  | CallbackDeadlineMessage
  | HealthProbeMessage
  | CancelOrderMessage
  | PollStatusMessage;
