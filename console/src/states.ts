/** How each state looks: a colour that reads on white and a word for those who cannot tell colours apart. */

export const ITEM_STATE_STYLE: Record<string, { colour: string; label: string }> = {
  Pending: { colour: '#8a94a6', label: 'Pending' },
  Ready: { colour: '#8a94a6', label: 'Ready' },
  Running: { colour: '#1f6feb', label: 'Running' },
  OnHold: { colour: '#b7791f', label: 'On Hold' },
  Failed: { colour: '#d9480f', label: 'Failed, retry due' },
  FatallyFailed: { colour: '#c92a2a', label: 'Fallout' },
  Completed: { colour: '#2b8a3e', label: 'Completed' },
  Skipped: { colour: '#6c757d', label: 'Skipped' },
};

export const ORDER_STATES = ['acknowledged', 'inProgress', 'held', 'completed', 'failed'] as const;

export const ORDER_STATE_STYLE: Record<string, { colour: string; label: string }> = {
  acknowledged: { colour: '#8a94a6', label: 'acknowledged' },
  inProgress: { colour: '#1f6feb', label: 'in progress' },
  held: { colour: '#b7791f', label: 'held' },
  completed: { colour: '#2b8a3e', label: 'completed' },
  failed: { colour: '#c92a2a', label: 'failed' },
};

export function itemStyle(state: string): { colour: string; label: string } {
  return ITEM_STATE_STYLE[state] ?? { colour: '#8a94a6', label: state };
}

export function orderStyle(state: string): { colour: string; label: string } {
  return ORDER_STATE_STYLE[state] ?? { colour: '#8a94a6', label: state };
}
