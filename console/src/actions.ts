/** The operator actions on an item (retry, skip, fail the order, complete a manual task, abort). */
export type Action = 'retry' | 'skip' | 'fail' | 'complete' | 'abort';

/** What an operator may do with an item in this state, as the API allows it. */
export function actionsFor(item: { state: string; type: string }): Action[] {
  if (item.type === 'manualTask' && item.state === 'Running') return ['complete'];
  if (item.state === 'Running') return ['abort'];
  if (item.state === 'FatallyFailed' || item.state === 'Failed') return ['retry', 'skip', 'fail'];
  if (item.state === 'OnHold') return ['skip'];
  return [];
}
