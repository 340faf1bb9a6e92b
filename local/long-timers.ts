/**
 * Timers longer than Node's 2^31−1 ms (24.8 days). Node clamps a longer delay to 1 ms, so the local Step
 * Functions engine — which arms a plain setTimeout for every Task's TimeoutSeconds and for the
 * execution's — would time a 30-day wait out at once. Installed in the local runtime's process, these
 * wrappers arm such a timer in steps of at most the limit; shorter timers are Node's own, untouched.
 */

export const NODE_TIMER_LIMIT_MS = 2 ** 31 - 1;

type Callback = (...args: unknown[]) => void;

export interface TimerBase {
  setTimeout(fn: () => void, ms: number): ReturnType<typeof setTimeout>;
  clearTimeout(handle: ReturnType<typeof setTimeout>): void;
  now(): number;
}

/** A timer that re-arms itself until its due time; quacks like Node's Timeout where the engine uses one. */
export class LongTimeout {
  private current: ReturnType<typeof setTimeout> | undefined;
  private referenced = true;
  private readonly due: number;

  constructor(
    private readonly base: TimerBase,
    private readonly fn: Callback,
    delayMs: number,
    private readonly args: unknown[],
  ) {
    this.due = base.now() + delayMs;
    this.arm();
  }

  private arm(): void {
    const left = this.due - this.base.now();
    this.current =
      left > NODE_TIMER_LIMIT_MS
        ? this.base.setTimeout(() => this.arm(), NODE_TIMER_LIMIT_MS)
        : this.base.setTimeout(() => this.fn(...this.args), Math.max(0, left));
    if (!this.referenced) this.current.unref?.();
  }

  clear(): void {
    if (this.current) this.base.clearTimeout(this.current);
    this.current = undefined;
  }

  unref(): this {
    this.referenced = false;
    this.current?.unref?.();
    return this;
  }

  ref(): this {
    this.referenced = true;
    this.current?.ref?.();
    return this;
  }

  hasRef(): boolean {
    return this.referenced;
  }
}

let installed = false;

/** Makes setTimeout/clearTimeout in this process accept delays beyond Node's limit. Idempotent. */
export function installLongTimers(): void {
  if (installed) return;
  installed = true;
  const original = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
  const base: TimerBase = {
    setTimeout: (fn, ms) => original.setTimeout(fn, ms),
    clearTimeout: (handle) => original.clearTimeout(handle),
    now: () => Date.now(),
  };
  const longSetTimeout = (fn: Callback, ms?: number, ...args: unknown[]) =>
    typeof ms === 'number' && ms > NODE_TIMER_LIMIT_MS
      ? new LongTimeout(base, fn, ms, args)
      : original.setTimeout(fn, ms, ...args);
  globalThis.setTimeout = Object.assign(longSetTimeout, original.setTimeout) as unknown as typeof setTimeout;
  globalThis.clearTimeout = ((handle: unknown) => {
    if (handle instanceof LongTimeout) handle.clear();
    else original.clearTimeout(handle as Parameters<typeof clearTimeout>[0]);
  }) as typeof clearTimeout;
}
