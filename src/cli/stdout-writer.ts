import type { TcpReuseEvent } from '../model/events';
import { writeEventJson } from '../model/event-json';
import { ByteWriter } from '../util/byte-writer';

/** Bytes gathered before a write to the stream. */
const CHUNK = 1 << 16;

/**
 * Batches output lines into large writes and exposes the stream's backpressure, so a slow pipe
 * (e.g. `| jq`) slows the capture reader instead of filling memory. A closed pipe (`| head`)
 * ends the process quietly, as Unix tools do.
 */
export class StdoutWriter {
  private out = new ByteWriter(CHUNK * 2);
  private drain: Promise<void> | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }

  write(s: string): void {
    this.out.text(s);
    if (this.out.at >= CHUNK) this.flush();
  }

  /** One event as a JSON line (ours, or a SIEM document with its writer), written as bytes (no string made). */
  writeEvent(e: TcpReuseEvent, writer: (w: ByteWriter, e: TcpReuseEvent) => void = writeEventJson): void {
    writer(this.out, e);
    this.out.u8(0x0a);
    if (this.out.at >= CHUNK) this.flush();
  }

  flush(): void {
    if (this.out.at === 0) return;
    // The stream keeps the chunk until written: hand it over and start a new one.
    const ok = this.stream.write(this.out.buf.subarray(0, this.out.at));
    this.out = new ByteWriter(CHUNK * 2);
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
