import type { CallbackMessage } from '../domain/callback';

/** The durable buffer between the callback API and the correlator. */
export interface CallbackQueue {
  send(message: CallbackMessage): Promise<void>;
}
