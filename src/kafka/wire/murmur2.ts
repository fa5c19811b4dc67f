/**
 * The Java client's default partitioner for keyed records: murmur2 of the key bytes (seed
 * 0x9747b28c), made positive, modulo the partition count. kafkajs's DefaultPartitioner does the
 * same, so a flow's events land on the partition any Kafka client would pick for its key.
 */
const M = 0x5bd1e995;

/** murmur2 of `data[0, length)`. */
export function murmur2(data: Uint8Array, length = data.length): number {
  let h = 0x9747b28c ^ length;
  const fours = length & ~3;
  for (let i = 0; i < fours; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The last 1–3 bytes (Java's switch falls through from case 3 to case 1).
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= data[fours + 2] << 16;
    if (rest >= 2) h ^= data[fours + 1] << 8;
    h ^= data[fours];
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a keyed record among `partitions`. */
export function keyPartition(key: Uint8Array, partitions: number, length = key.length): number {
  return (murmur2(key, length) & 0x7fffffff) % partitions;
}
