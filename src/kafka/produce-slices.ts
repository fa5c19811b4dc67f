import type { OutgoingMessage } from './client';

/** Upper bound on one partition's batch in a produce request (the broker's default limit is 1 MiB). */
export const MAX_BATCH_BYTES = 768 * 1024;

/** Rough size of a message in a record batch: value, key, and the per-record overhead. */
function recordBytes(m: OutgoingMessage): number {
  return (m.value?.length ?? 0) + (m.key?.length ?? 0) + 64;
}

/**
 * Cuts messages (in order) into produce requests. The broker refuses a record batch above
 * message.max.bytes (1 MiB by default) and a request carries one batch per partition, so each
 * request holds up to `perPartitionBytes` for every partition it writes to; messages whose
 * partition is not known yet (the client will pick it) share one budget of that size. Each
 * partition's messages stay in order, since requests go out one after another.
 */
export function produceSlices(messages: readonly OutgoingMessage[], perPartitionBytes: number): OutgoingMessage[][] {
  const out: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let used = new Map<string, number>();
  for (const m of messages) {
    const bucket = m.partition === undefined ? `${m.topic}\u0000?` : `${m.topic}\u0000${m.partition}`;
    const bytes = recordBytes(m);
    const have = used.get(bucket) ?? 0;
    if (have > 0 && have + bytes > perPartitionBytes) {
      out.push(current);
      current = [];
      used = new Map();
    }
    current.push(m);
    used.set(bucket, (used.get(bucket) ?? 0) + bytes);
  }
  if (current.length > 0) out.push(current);
  return out;
}
