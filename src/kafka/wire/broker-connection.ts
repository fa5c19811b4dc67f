/**
 * One TCP (or TLS) connection to one broker: size-prefixed requests out, responses matched back
 * by correlation id. Kafka answers a connection's requests in the order they were sent, so the
 * pending requests are a FIFO queue. Any socket error or timeout fails every pending request with
 * a retriable `BrokerConnectionError`; the producer reconnects.
 */
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Reader } from './bytes';
import { requestFrame } from './requests';

export class BrokerConnectionError extends Error {
  override name = 'KafkaConnectionError';
  readonly retriable = true;
}

interface Pending {
  readonly correlationId: number;
  readonly resolve: (r: Reader) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
  /** A flexible version: the response header carries tagged fields. */
  readonly flexible: boolean;
}

export interface ConnectionSettings {
  readonly clientId: string;
  /** TLS options, or null for plain TCP. */
  readonly tls: ConnectionOptions | null;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

export class BrokerConnection {
  private socket: Socket | null = null;
  private readonly pending: Pending[] = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  private nextCorrelationId = 0;
  private failure: Error | null = null;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly settings: ConnectionSettings,
  ) {}

  get alive(): boolean {
    return this.socket !== null && this.failure === null;
  }

  connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const where = `${this.host}:${this.port}`;
      const { tls } = this.settings;
      const socket = tls ? tlsConnect({ ...tls, host: this.host, port: this.port, servername: tls.servername ?? (isIP(this.host) ? undefined : this.host) }) : tcpConnect({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(new BrokerConnectionError(`connecting to ${where} timed out`)), this.settings.connectTimeoutMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(new BrokerConnectionError(`cannot connect to ${where}: ${err.message}`));
      };
      socket.once('error', onError);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        this.socket = socket;
        socket.on('data', (chunk: Buffer) => this.onData(chunk));
        socket.on('error', (err) => this.fail(new BrokerConnectionError(`connection to ${where} failed: ${err.message}`)));
        socket.on('close', () => this.fail(new BrokerConnectionError(`connection to ${where} closed`)));
        resolve();
      });
    });
  }

  /**
   * Sends a request; resolves with a reader positioned after the response header. `flexible`: a
   * flexible version of the API (request header v2; the response header's tagged fields skipped).
   */
  request(apiKey: number, version: number, body: readonly Buffer[], flexible = false): Promise<Reader> {
    if (!this.socket || this.failure) return Promise.reject(this.failure ?? new BrokerConnectionError(`not connected to ${this.host}:${this.port}`));
    const socket = this.socket;
    const correlationId = (this.nextCorrelationId = (this.nextCorrelationId + 1) | 0);
    return new Promise<Reader>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new BrokerConnectionError(`request (api ${apiKey}) to ${this.host}:${this.port} timed out after ${this.settings.requestTimeoutMs} ms`)),
        this.settings.requestTimeoutMs,
      );
      this.pending.push({ correlationId, resolve, reject, timer, flexible });
      // One writev for the frame: the record batches are not copied into a request buffer.
      socket.cork();
      for (const part of requestFrame(apiKey, version, correlationId, this.settings.clientId, body, flexible)) socket.write(part);
      socket.uncork();
    });
  }

  close(): void {
    this.fail(new BrokerConnectionError(`connection to ${this.host}:${this.port} closed by the client`));
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    this.socket?.destroy();
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(this.failure);
    }
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      // The chunks are joined only once the whole frame is in: joining them on every chunk copied
      // a large fetch response over and over (a 32 MB one arrives in ~500 chunks).
      if (this.chunks[0].length < 4) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
      const size = this.chunks[0].readInt32BE(0);
      if (this.buffered < 4 + size) return;
      if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
      const buf = this.chunks[0];
      const frame = buf.subarray(4, 4 + size);
      this.chunks = this.buffered > 4 + size ? [buf.subarray(4 + size)] : [];
      this.buffered -= 4 + size;
      this.onResponse(frame);
    }
  }

  private onResponse(frame: Buffer): void {
    const p = this.pending.shift();
    const r = new Reader(frame);
    const correlationId = r.int32();
    if (!p || p.correlationId !== correlationId) {
      if (p) this.pending.unshift(p);
      this.fail(new BrokerConnectionError(`unexpected response (correlation id ${correlationId}) from ${this.host}:${this.port}`));
      return;
    }
    clearTimeout(p.timer);
    if (p.flexible) r.skipTags();
    p.resolve(r);
  }
}
