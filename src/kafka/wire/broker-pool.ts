/**
 * The brokers a wire client talks to: the bootstrap list, one connection per broker (TLS and SASL
 * as configured, API versions agreed on opening), the cluster's metadata (which broker leads each
 * partition), and retrying with back-off within a time budget. The producer and the partition
 * reader share it.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '../../util/logger';
import type { KafkaConnection } from '../client';
import { ConnectionHealth } from '../connection-health';
import { BrokerConnection, BrokerConnectionError } from './broker-connection';
import { errorName, KafkaProtocolError } from './errors';
import { API, metadataRequest, parseApiVersions, parseMetadata, SUPPORTED, type BrokerAddress } from './requests';
import { authenticate, SASL_API, SASL_VERSIONS, SaslError } from './sasl';

export const REQUEST_TIMEOUT_MS = 30_000;
/** As the Java client's metadata.max.age.ms. */
export const METADATA_MAX_AGE_MS = 5 * 60_000;

export type ApiName = keyof typeof API;
/** The version of each API both sides speak (absent: the broker does not speak one we do). */
export type Versions = Partial<Record<ApiName, number>>;

export interface BrokerLink {
  readonly conn: BrokerConnection;
  readonly versions: Versions;
}

export interface TopicLayout {
  readonly leaders: Int32Array; // leader node id per partition, -1 while there is none
  roundRobin: number;
  /** When it was fetched (ms): asked again once older than metadataMaxAgeMs, so added partitions get used. */
  readonly fetchedAt: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tlsOptions(c: KafkaConnection): ConnectionOptions | null {
  if (!c.ssl) return null;
  if (c.ssl === true) return {};
  return {
    ca: c.ssl.caFile ? readFileSync(c.ssl.caFile, 'utf8') : undefined,
    cert: c.ssl.certFile ? readFileSync(c.ssl.certFile, 'utf8') : undefined,
    key: c.ssl.keyFile ? readFileSync(c.ssl.keyFile, 'utf8') : undefined,
    rejectUnauthorized: c.ssl.rejectUnauthorized ?? true,
  };
}

function parseBroker(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address.trim());
  if (!m) throw new Error(`broker address "${address}" is not host:port`);
  return { host: m[1], port: Number(m[2]) };
}

export class BrokerPool {
  readonly topics = new Map<string, TopicLayout>();
  /** Time without progress after which retries give up (ms). */
  readonly budgetMs: number;
  closed = false;
  /** Told of requests failing for want of a broker and of requests answered (the consumer's /healthz follows it). */
  reachability: ConnectionHealth | undefined;
  private readonly bootstrap: readonly { host: string; port: number }[];
  private readonly tls: ConnectionOptions | null;
  private readonly brokers = new Map<number, BrokerAddress>();
  private readonly connections = new Map<string, BrokerLink>();

  /** `needs`: the APIs the client cannot work without (a broker that lacks one is refused on connecting). */
  constructor(
    private readonly connection: KafkaConnection,
    private readonly logger: Logger,
    private readonly needs: readonly ApiName[],
    private readonly metadataMaxAgeMs = METADATA_MAX_AGE_MS,
    /** Whether asking for a topic's metadata may create it (a producer's habit, as kafkajs's). */
    private readonly autoCreateTopics = true,
  ) {
    this.bootstrap = connection.brokers.map(parseBroker);
    this.tls = tlsOptions(connection);
    this.budgetMs = connection.connectionTimeoutMs ?? 30_000;
  }

  /**
   * Leaders of `topics`' partitions. With `untilKnown`, only topics not known (or known too long)
   * are asked for, and one that does not exist yet (the broker creates it on this request when
   * auto-creation is on) is an error the caller's retries repeat until it has partitions.
   */
  async refreshMetadata(topics: string[], untilKnown: boolean): Promise<void> {
    const now = Date.now();
    const missing = untilKnown ? topics.filter((t) => !(now - (this.topics.get(t)?.fetchedAt ?? -Infinity) < this.metadataMaxAgeMs)) : topics;
    if (missing.length === 0) return;
    const { conn, versions } = await this.anyConnection();
    const v = versions.metadata!;
    const meta = parseMetadata(await conn.request(API.metadata, v, [metadataRequest(missing, v, this.autoCreateTopics)]), v);
    for (const b of meta.brokers) this.brokers.set(b.nodeId, b);
    for (const t of meta.topics) {
      if (t.errorCode !== 0 || t.partitions.length === 0) {
        // A topic known from before keeps its layout; one never seen cannot be used yet.
        if (untilKnown && !this.topics.has(t.name)) throw new KafkaProtocolError(`topic ${t.name}: ${errorName(t.errorCode)}`, t.errorCode === 0 ? 5 : t.errorCode);
        continue;
      }
      const leaders = new Int32Array(t.partitions.length).fill(-1);
      for (const p of t.partitions) if (p.partition < leaders.length) leaders[p.partition] = p.errorCode === 0 ? p.leader : -1;
      const previous = this.topics.get(t.name);
      this.topics.set(t.name, { leaders, roundRobin: previous?.roundRobin ?? Math.floor(Math.random() * 0x7fffffff), fetchedAt: now });
    }
  }

  /** The connection to the leader of `topic`/`partition` (from the metadata already fetched). */
  async leaderOf(topic: string, partition: number): Promise<BrokerLink> {
    const leader = this.topics.get(topic)?.leaders[partition] ?? -1;
    if (leader < 0) throw new KafkaProtocolError(`${topic}/${partition} has no leader right now`, 5);
    return this.connectionTo(leader);
  }

  /** The connection to a broker a response named (a coordinator), remembered for connectionTo. */
  connectionAt(broker: BrokerAddress): Promise<BrokerLink> {
    this.brokers.set(broker.nodeId, broker);
    return this.open(broker.host, broker.port);
  }

  async connectionTo(nodeId: number): Promise<BrokerLink> {
    const address = this.brokers.get(nodeId);
    if (!address) throw new BrokerConnectionError(`broker ${nodeId} is not in the metadata`);
    return this.open(address.host, address.port);
  }

  /** A live connection to any broker (an open one first, else the known brokers and the bootstrap list in order). */
  async anyConnection(): Promise<BrokerLink> {
    for (const c of this.connections.values()) if (c.conn.alive) return c;
    let last: Error | null = null;
    for (const b of [...this.brokers.values(), ...this.bootstrap]) {
      try {
        return await this.open(b.host, b.port);
      } catch (err) {
        last = err as Error;
      }
    }
    throw last ?? new BrokerConnectionError('no brokers configured');
  }

  /** Runs `step` until it succeeds, a non-retriable error, or the time budget is spent. */
  async withRetries<T>(what: string, step: () => Promise<T>): Promise<T> {
    const started = Date.now();
    let backoff = 100;
    for (;;) {
      try {
        const result = await step();
        this.reachability?.ok();
        return result;
      } catch (err) {
        if (this.closed || !(err as { retriable?: boolean }).retriable || Date.now() - started + backoff > this.budgetMs) throw err;
        this.unreachable(what, err as Error);
        this.logger.debug(`${what} failed, will retry`, { error: err });
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
      }
    }
  }

  /** A retriable request failure: an outage when it is the connection that failed (not, say, a leader move). */
  unreachable(what: string, err: Error): void {
    if (err instanceof BrokerConnectionError || ConnectionHealth.isTrouble(err.message)) this.reachability?.failed(`${what}: ${err.message}`);
  }

  close(): void {
    this.closed = true;
    for (const { conn } of this.connections.values()) conn.close();
    this.connections.clear();
  }

  private async open(host: string, port: number): Promise<BrokerLink> {
    const key = `${host}:${port}`;
    const existing = this.connections.get(key);
    if (existing?.conn.alive) return existing;
    const conn = new BrokerConnection(host, port, { clientId: this.connection.clientId, tls: this.tls, connectTimeoutMs: 3000, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    await conn.connect();
    try {
      const { errorCode, apis } = parseApiVersions(await conn.request(API.apiVersions, 0, []));
      if (errorCode !== 0) throw new KafkaProtocolError(`broker ${key} refused ApiVersions: ${errorName(errorCode)}`, errorCode);
      const versions: Versions = {};
      for (const name of Object.keys(API) as ApiName[]) {
        const [lo, hi] = SUPPORTED[name];
        const broker = apis.get(API[name]);
        const v = Math.min(hi, broker?.max ?? -1);
        if (broker && v >= Math.max(lo, broker.min)) versions[name] = v;
        else if (this.needs.includes(name)) {
          const offered = broker ? `v${broker.min}–v${broker.max}` : 'none';
          throw new KafkaProtocolError(`broker ${key} does not speak ${name} v${lo}–v${hi} (it offers ${offered}); use --producer kafkajs`, 35);
        }
      }
      if (this.connection.sasl) {
        for (const [name, apiKey] of Object.entries(SASL_API) as [keyof typeof SASL_API, number][]) {
          const range = apis.get(apiKey);
          if (!range || SASL_VERSIONS[name] < range.min || SASL_VERSIONS[name] > range.max) {
            throw new SaslError(`broker ${key} does not speak SASL ${name} v${SASL_VERSIONS[name]}; use --producer kafkajs`);
          }
        }
        await authenticate(conn, this.connection.sasl);
      }
      const entry = { conn, versions };
      this.connections.set(key, entry);
      return entry;
    } catch (err) {
      conn.close();
      throw err;
    }
  }
}
