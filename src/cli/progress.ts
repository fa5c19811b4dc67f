/** What the CLI draws on a terminal while it reads: a bar, or a status for input of unknown size. */
export interface Progress {
  update(done: number, total: number): void;
  clear(): void;
}

/** A one-line progress bar on a terminal, redrawn at most every 200 ms. */
export class ProgressBar implements Progress {
  private lastDraw = 0;
  private readonly started = Date.now();

  constructor(private readonly tty: NodeJS.WriteStream) {}

  update(done: number, total: number): void {
    const now = Date.now();
    if (now - this.lastDraw < 200 && done < total) return;
    this.lastDraw = now;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const width = 30;
    const filled = Math.round(frac * width);
    const mbps = done / 1048576 / Math.max((now - this.started) / 1000, 0.001);
    this.tty.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${(done / 1048576).toFixed(0)}/${(total / 1048576).toFixed(0)} MB  ${mbps.toFixed(0)} MB/s`,
    );
  }

  clear(): void {
    this.tty.write('\r\x1b[K');
  }
}

/**
 * A one-line status for input of unknown size (a live capture on standard input, where nothing
 * else shows until the end): bytes read and what `describe` says, redrawn at most twice a second.
 */
export class LiveStatus implements Progress {
  private lastDraw = 0;

  constructor(
    private readonly tty: NodeJS.WriteStream,
    private readonly describe: () => string,
    private readonly now: () => number = Date.now,
  ) {}

  update(done: number): void {
    const now = this.now();
    if (now - this.lastDraw < 500) return;
    this.lastDraw = now;
    const read = done < 1048576 ? `${(done / 1024).toFixed(0)} KB` : `${(done / 1048576).toFixed(1)} MB`;
    this.tty.write(`\r\x1b[K${read} read: ${this.describe()}`);
  }

  clear(): void {
    this.tty.write('\r\x1b[K');
  }
}
