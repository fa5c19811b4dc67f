/**
 * Whether the Kafka cluster is reachable, as the client's log lines tell: the first connection
 * failure of an outage is reported (a warning; the consumer's /healthz says degraded, a Node-RED
 * node's status "reconnecting"), the client's further retries are not (kafkajs logs one per
 * attempt: a hundred lines in 40 s), until the cluster is seen working again (`ok()`: a fetch, a
 * join, an acknowledged write): state changes, not attempts, as the core mqtt node reports them.
 */
const TROUBLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|Connection (error|timeout|closed)|connect to seed broker|Restarting the consumer|Crash/i;

/** Failures reported within this long count as an outage still going on (clients retry every few seconds). */
const STILL_FAILING_MS = 15_000;

export type HealthListener = (trouble: string | null) => void;

export class ConnectionHealth {
  /** `giveUpAfterMs`: how long an outage may last before the service using it gives up (the consumer's --broker-timeout). */
  constructor(readonly giveUpAfterMs = Infinity) {}

  private trouble: string | null = null;
  private sinceMs = 0;
  private readonly listeners = new Set<HealthListener>();

  /** Is this log line a sign of the cluster being unreachable? */
  static isTrouble(line: string): boolean {
    return TROUBLE.test(line);
  }

  get current(): string | null {
    return this.trouble;
  }

  /** When the current outage started (ms since the epoch); 0 while reachable. */
  get since(): number {
    return this.trouble === null ? 0 : this.sinceMs;
  }

  private lastFailureMs = 0;

  /**
   * The current outage has lasted past giveUpAfterMs, and failures are still being reported (a
   * client that went quiet, e.g. with every partition paused, is not taken for a dead cluster).
   */
  get overLimit(): boolean {
    const now = Date.now();
    return this.trouble !== null && now - this.sinceMs > this.giveUpAfterMs && now - this.lastFailureMs < STILL_FAILING_MS;
  }

  /** A connection failure; true when it starts an outage (the caller logs it), false while one goes on. */
  failed(why: string): boolean {
    this.lastFailureMs = Date.now();
    if (this.trouble !== null) return false;
    this.trouble = why;
    this.sinceMs = Date.now();
    for (const l of this.listeners) l(why);
    return true;
  }

  /** The cluster worked (a fetch, a join, an acknowledged write): an outage, if any, is over. */
  ok(): void {
    if (this.trouble === null) return;
    this.trouble = null;
    for (const l of this.listeners) l(null);
  }

  /** Calls `listener` on every change; returns the unsubscribe. */
  subscribe(listener: HealthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
