import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import type * as avro from 'avsc';
import { InputError } from '../ingest/input-error';
import type { Logger } from '../util/logger';

/**
 * Avro through a Schema Registry (Confluent wire format: magic byte 0, the schema id as 4 bytes big
 * endian, then the Avro binary), with @kafkajs/confluent-schema-registry as the client. Messages
 * name their writer schema by id: the ids a batch needs are fetched before it is decoded (`prepare`),
 * so decoding stays synchronous. An id the registry does not know is an input error (the message is
 * dead-lettered, the answer cached); a registry that does not answer is retried with back-off for
 * `retryS`, then the messages that needed it are dead-lettered with that reason and the next batch
 * tries again: consuming never stops on the registry.
 */
export interface RegistrySettings {
  /** The registry's base URL (Confluent API; Apicurio's is /apis/ccompat/v7). */
  readonly url: string;
  readonly username?: string | null;
  readonly password?: string | null;
  /** PEM file of the CA to trust for an https registry. */
  readonly caFile?: string | null;
  /** Accept any certificate (testing only). */
  readonly insecure?: boolean;
  /** How long a registry that does not answer is retried before the messages are dead-lettered. @default 30 */
  readonly retryS?: number;
}

export const MAGIC_BYTE = 0;
export const WIRE_HEADER_BYTES = 5;

/** The 5-byte Confluent wire-format header for a schema id. */
export function wireHeader(id: number): Buffer {
  const h = Buffer.alloc(WIRE_HEADER_BYTES);
  h[0] = MAGIC_BYTE;
  h.writeUInt32BE(id, 1);
  return h;
}

/** The schema id of a wire-format message; an InputError when it is not in that format. */
export function schemaIdOf(value: Buffer): number {
  if (value.length < WIRE_HEADER_BYTES || value[0] !== MAGIC_BYTE) {
    throw new InputError(`not in the Schema Registry wire format (magic byte 0 and a 4-byte schema id; got ${value.length < 1 ? 'no bytes' : `first byte ${value[0]}`})`);
  }
  return value.readUInt32BE(1);
}

type Registry = import('@kafkajs/confluent-schema-registry').SchemaRegistry;

export class SchemaRegistryClient {
  private readonly registry: Registry;
  private readonly types = new Map<number, avro.Type>();
  /** Ids the registry answered it does not have (cached: it will not learn them). */
  private readonly unknown = new Map<number, string>();
  /** Ids that could not be fetched in the last prepare (the registry did not answer): retried next time. */
  private readonly unreachable = new Map<number, string>();
  private readonly retryMs: number;

  constructor(
    readonly settings: RegistrySettings,
    private readonly log?: Logger,
  ) {
    // Loaded on demand, as kafkajs is: analyze has no use for it.
    const { SchemaRegistry } = require('@kafkajs/confluent-schema-registry') as typeof import('@kafkajs/confluent-schema-registry');
    const https = settings.url.startsWith('https:');
    this.registry = new SchemaRegistry({
      host: settings.url.replace(/\/+$/, ''),
      auth: settings.username ? { username: settings.username, password: settings.password ?? '' } : undefined,
      agent: https ? new HttpsAgent({ ca: settings.caFile ? readFileSync(settings.caFile) : undefined, rejectUnauthorized: settings.insecure !== true, keepAlive: true }) : undefined,
      retry: { retries: 0 }, // our own back-off below decides how long
    });
    this.retryMs = (settings.retryS ?? 30) * 1000;
  }

  /** Fetches the writer schemas the values name that are not known yet. Never throws for the registry's sake. */
  async prepare(values: readonly (Buffer | null)[]): Promise<void> {
    this.unreachable.clear();
    const ids = new Set<number>();
    for (const v of values) {
      if (v === null || v.length < WIRE_HEADER_BYTES || v[0] !== MAGIC_BYTE) continue;
      const id = v.readUInt32BE(1);
      if (!this.types.has(id) && !this.unknown.has(id)) ids.add(id);
    }
    for (const id of ids) await this.fetch(id);
  }

  /** The writer schema of a wire-format value (after prepare); an InputError saying why when there is none. */
  writerType(value: Buffer): avro.Type {
    const id = schemaIdOf(value);
    const t = this.types.get(id);
    if (t) return t;
    throw new InputError(this.unknown.get(id) ?? this.unreachable.get(id) ?? `schema id ${id} was not fetched from the registry`);
  }

  /** Registers `schema` under `subject` (TopicNameStrategy: `<topic>-value`); its id. Retried as fetches are. */
  async register(subject: string, schema: object): Promise<number> {
    const { SchemaType } = require('@kafkajs/confluent-schema-registry') as typeof import('@kafkajs/confluent-schema-registry');
    return this.withRetry(`register a schema under ${subject}`, async () => (await this.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject })).id);
  }

  private async fetch(id: number): Promise<void> {
    try {
      const t = (await this.withRetry(`fetch schema id ${id}`, () => this.registry.getSchema(id))) as unknown as avro.Type;
      this.types.set(id, t);
    } catch (err) {
      if ((err as { status?: number }).status === 404) this.unknown.set(id, `schema id ${id} is unknown to the registry at ${this.settings.url}`);
      else this.unreachable.set(id, `the schema registry at ${this.settings.url} did not answer for schema id ${id} within ${this.retryMs / 1000} s: ${oneLine(err)}`);
    }
  }

  private async withRetry<T>(what: string, f: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.retryMs;
    for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
      try {
        return await f();
      } catch (err) {
        const status = (err as { status?: number }).status;
        // The registry's own answers (not found, refused schema, bad auth) are final; only no answer is retried.
        if (status !== undefined && status >= 400 && status < 500 && !/ECONN|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|socket/i.test(String((err as Error).message))) throw err;
        if (Date.now() + wait > deadline) throw err;
        this.log?.warn('schema registry not answering, retrying', { what, inMs: wait, error: oneLine(err) });
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}

const oneLine = (err: unknown): string => String((err as Error)?.message ?? err).replace(/\s+/g, ' ').slice(0, 300);
