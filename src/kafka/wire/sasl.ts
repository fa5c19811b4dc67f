/**
 * SASL authentication of a broker connection, the way Kafka clients do it since Kafka 1.0:
 * SaslHandshake v1 names the mechanism, then SaslAuthenticate v1 carries the mechanism's tokens
 * as Kafka requests. PLAIN (RFC 4616) is one token; SCRAM-SHA-256/512 (RFC 5802, 7677) is two
 * round trips, and the broker's final message is verified, so a broker that does not know the
 * password cannot pass for one that does.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KafkaConnection } from '../client';
import type { BrokerConnection } from './broker-connection';
import { Reader, stringSize, Writer } from './bytes';

export const SASL_API = { handshake: 17, authenticate: 36 } as const;
/** Non-flexible versions, served by Kafka 1.0 through 4.x. */
export const SASL_VERSIONS = { handshake: 1, authenticate: 1 } as const;

export type SaslSettings = NonNullable<KafkaConnection['sasl']>;

/** Authentication refused (wrong credentials, mechanism not enabled): not worth retrying. */
export class SaslError extends Error {
  override name = 'SaslError';
  readonly retriable = false;
}

const MECHANISM = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

/** Runs the whole exchange on a freshly connected `conn`; throws SaslError when refused. */
export async function authenticate(conn: BrokerConnection, sasl: SaslSettings): Promise<void> {
  const where = `${conn.host}:${conn.port}`;
  const mechanism = MECHANISM[sasl.mechanism];
  const hs = await conn.request(SASL_API.handshake, SASL_VERSIONS.handshake, [stringBody(mechanism)]);
  const hsError = hs.int16();
  const enabled = hs.array((r) => r.string() ?? '');
  if (hsError !== 0) throw new SaslError(`broker ${where} does not offer SASL ${mechanism} (it offers ${enabled.join(', ') || 'none'})`);
  const round = async (token: Buffer): Promise<Buffer> => {
    const r = await conn.request(SASL_API.authenticate, SASL_VERSIONS.authenticate, [bytesBody(token)]);
    const errorCode = r.int16();
    const message = r.string();
    const reply = readBytes(r);
    if (errorCode !== 0) throw new SaslError(`SASL ${mechanism} authentication with ${where} failed: ${message ?? `error ${errorCode}`}`);
    return reply;
  };
  if (sasl.mechanism === 'plain') {
    await round(Buffer.from(`\u0000${sasl.username}\u0000${sasl.password}`, 'utf8'));
    return;
  }
  const scram = new ScramClient(sasl.mechanism === 'scram-sha-256' ? 'sha256' : 'sha512', sasl.username, sasl.password);
  const serverFirst = await round(Buffer.from(scram.clientFirst(), 'utf8'));
  const serverFinal = await round(Buffer.from(scram.clientFinal(serverFirst.toString('utf8')), 'utf8'));
  scram.verifyServerFinal(serverFinal.toString('utf8'), where);
}

/**
 * The client side of SCRAM (RFC 5802) without channel binding. Usernames are escaped as the RFC
 * asks (`=` and `,`); passwords are used as given (no SASLprep), as the Java client does.
 */
export class ScramClient {
  private readonly nonce: string;
  private clientFirstBare = '';
  private serverSignature: Buffer | null = null;

  constructor(
    private readonly hash: 'sha256' | 'sha512',
    private readonly username: string,
    private readonly password: string,
    nonce = randomBytes(24).toString('base64'),
  ) {
    this.nonce = nonce;
  }

  clientFirst(): string {
    const name = this.username.replace(/=/g, '=3D').replace(/,/g, '=2C');
    this.clientFirstBare = `n=${name},r=${this.nonce}`;
    return `n,,${this.clientFirstBare}`;
  }

  clientFinal(serverFirst: string): string {
    const attrs = attributes(serverFirst);
    const nonce = attrs.get('r') ?? '';
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
    const iterations = Number(attrs.get('i'));
    if (!nonce.startsWith(this.nonce) || nonce.length === this.nonce.length) throw new SaslError('SCRAM: the broker answered with a nonce that does not extend ours');
    if (salt.length === 0 || !Number.isInteger(iterations) || iterations < 1) throw new SaslError(`SCRAM: the broker's first message is malformed: ${JSON.stringify(serverFirst)}`);
    const keyLength = this.hash === 'sha256' ? 32 : 64;
    const salted = pbkdf2Sync(this.password, salt, iterations, keyLength, this.hash);
    const clientKey = this.hmac(salted, 'Client Key');
    const storedKey = createHash(this.hash).update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`; // biws: base64 of "n,," (no channel binding)
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = this.hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i] ^ signature[i];
    this.serverSignature = this.hmac(this.hmac(salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  verifyServerFinal(serverFinal: string, where: string): void {
    const attrs = attributes(serverFinal);
    const error = attrs.get('e');
    if (error !== undefined) throw new SaslError(`SCRAM authentication with ${where} failed: ${error}`);
    const v = Buffer.from(attrs.get('v') ?? '', 'base64');
    if (!this.serverSignature || v.length !== this.serverSignature.length || !timingSafeEqual(v, this.serverSignature)) {
      throw new SaslError(`SCRAM: broker ${where} did not prove it knows the password (server signature mismatch)`);
    }
  }

  private hmac(key: Buffer, text: string): Buffer {
    return createHmac(this.hash, key).update(text, 'utf8').digest();
  }
}

/** `a=1,b=2` → Map (values may contain `=`, as base64 does). */
function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

function stringBody(s: string): Buffer {
  const w = new Writer(Buffer.allocUnsafe(stringSize(s)));
  w.string(s);
  return w.buf;
}

/** Protocol BYTES: int32 length, then the bytes. */
function bytesBody(b: Buffer): Buffer {
  const w = new Writer(Buffer.allocUnsafe(4 + b.length));
  w.int32(b.length);
  w.raw(b);
  return w.buf;
}

function readBytes(r: Reader): Buffer {
  const n = r.int32();
  return n < 0 ? Buffer.alloc(0) : r.bytes(n);
}
