/**
 * Batches output lines into large writes and exposes the stream's backpressure, so a slow pipe
 * (e.g. `| jq`) slows the capture reader instead of filling memory. A closed pipe (`| head`)
 * ends the process quietly, as Unix tools do.
 */
export class StdoutWriter {
  private buf: string[] = [];
  private size = 0;
  private drain: Promise<void> | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }

  write(s: string): void {
    this.buf.push(s);
    this.size += s.length;
    if (this.size >= 1 << 16) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    const ok = this.stream.write(this.buf.join(''));
    this.buf = [];
    this.size = 0;
    if (!ok && !this.drain) {
      this.drain = new Promise((resolve) =>
        this.stream.once('drain', () => {
          this.drain = undefined;
          resolve();
        }),
      );
    }
  }

  /** A promise while the stream is over its high-water mark, else undefined. */
  waitForDrain(): Promise<void> | undefined {
    return this.drain;
  }
}
