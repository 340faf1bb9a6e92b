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
};

export const ORDER_STATES = ['acknowledged', 'inProgress', 'held', 'completed', 'failed'] as const;

export const ORDER_STATE_STYLE: Record<string, { colour: string; label: string }> = {
  acknowledged: { colour: '#5f6b7a', label: 'acknowledged' },
  inProgress: { colour: '#1a5fd0', label: 'in progress' },
  held: { colour: '#8d5b00', label: 'held' },
  completed: { colour: '#25753a', label: 'completed' },
  failed: { colour: '#b02525', label: 'failed' },
};

export function itemStyle(state: string): { colour: string; label: string } {
  return ITEM_STATE_STYLE[state] ?? { colour: '#5f6b7a', label: state };
}

export function orderStyle(state: string): { colour: string; label: string } {
  return ORDER_STATE_STYLE[state] ?? { colour: '#5f6b7a', label: state };
}
