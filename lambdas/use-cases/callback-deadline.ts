import { awaitedCallOf } from '../domain/catalog';
import type { CallbackDeadlineMessage } from '../ports/work-queue';
import { drive } from './item-driver';
import type { RunItemDeps } from './run-item-deps';

/**
 * A callback's deadline came (a work message sent when its system accepted the callout): the lifecycle
 * decides whether the wait it guards still waits and has run out — then the attempt failed, and the
 * retry rules of its system and interface say what follows — or it waits on, or is over.
 */
export async function checkDeadline(deps: RunItemDeps, message: CallbackDeadlineMessage): Promise<void> {
  const item = await deps.store.getItem(message.orderId, message.itemKey);
  if (!item) return;
  // The wait of its callout, or of its procedure's step: that call's retry rules decide.
  const awaited = awaitedCallOf(deps.catalog, item);
  const { nonce, dueAt } = message;
  await drive(
    deps,
    { item, now: deps.now() },
    {
      kind: 'deadline',
      nonce,
      dueAt,
      ...(awaited ? { target: awaited.target } : {}),
      ...(awaited?.step ? { step: awaited.step } : {}),
    },
  );
}
