/**
 * How each state looks: a colour under white text at a contrast of at least 5:1 (WCAG AA asks 4.5), and a
 * word for those who cannot tell colours apart.
 */

export const ITEM_STATE_STYLE: Record<string, { colour: string; label: string }> = {
  Pending: { colour: '#5f6b7a', label: 'Pending' },
  Running: { colour: '#1a5fd0', label: 'Running' },
  OnHold: { colour: '#8d5b00', label: 'On Hold' },
  Failed: { colour: '#b83d0b', label: 'Failed, retry due' },
  FatallyFailed: { colour: '#b02525', label: 'Fallout' },
  Completed: { colour: '#25753a', label: 'Completed' },
  Skipped: { colour: '#495057', label: 'Skipped' },
  Discarded: { colour: '#495057', label: 'Discarded (cancelled)' },
  Frozen: { colour: '#3d5a80', label: 'Frozen (cancelled in flight)' },
  Compensating: { colour: '#6a3fa0', label: 'Compensating' },
  Compensated: { colour: '#5b3a8c', label: 'Compensated' },
};

export const ORDER_STATES = [
  'acknowledged',
  'inProgress',
  'held',
  'completed',
  'failed',
  'assessingCancellation',
  'pendingCancellation',
  'cancelled',
] as const;

/** Order states a cancellation may be asked for in. */
export const CANCELLABLE_STATES: readonly string[] = ['acknowledged', 'inProgress', 'held'];

export const ORDER_STATE_STYLE: Record<string, { colour: string; label: string }> = {
  acknowledged: { colour: '#5f6b7a', label: 'acknowledged' },
  inProgress: { colour: '#1a5fd0', label: 'in progress' },
  held: { colour: '#8d5b00', label: 'held' },
  completed: { colour: '#25753a', label: 'completed' },
  failed: { colour: '#b02525', label: 'failed' },
  assessingCancellation: { colour: '#6a3fa0', label: 'assessing cancellation' },
  pendingCancellation: { colour: '#6a3fa0', label: 'pending cancellation' },
  cancelled: { colour: '#495057', label: 'cancelled' },
};

export function itemStyle(state: string): { colour: string; label: string } {
  return ITEM_STATE_STYLE[state] ?? { colour: '#5f6b7a', label: state };
}

export function orderStyle(state: string): { colour: string; label: string } {
  return ORDER_STATE_STYLE[state] ?? { colour: '#5f6b7a', label: state };
}
