/**
 * Event time for sparse live traffic. Packets carry the clock; when none arrive, a wall-clock timer
 * moves the watermark on from the last event time by the wall time since that event arrived, so idle
 * flows expire and windows close on a quiet network. Event time stays the clock: the timer never
 * moves the watermark past what the packets' own time would have reached by now.
 */
export class IdleClock {
  private lastEventTs = -Infinity;
  private lastArrivalMs = 0;
  private lastWatermark = -Infinity;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly tickMs: number,
    private readonly onWatermark: (ts: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** An event with time `ts` (µs) arrived. */
  saw(ts: number): void {
    if (ts > this.lastEventTs) this.lastEventTs = ts;
    this.lastArrivalMs = this.now();
    if (!this.timer && this.tickMs > 0) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref?.();
    }
  }

  /** Called by the timer; public so tests can drive it. */
  tick(): void {
    if (this.lastEventTs === -Infinity) return;
    const idleMs = this.now() - this.lastArrivalMs;
    if (idleMs < this.tickMs) return; // packets are flowing: they move the clock themselves
    const wm = this.lastEventTs + idleMs * 1000;
    if (wm > this.lastWatermark) {
      this.lastWatermark = wm;
      this.onWatermark(wm);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  get running(): boolean {
    return this.timer !== null;
  }
}
