/**
 * An event's own fields with snake_case names, for the custom namespace of the SIEM formats
 * (ECS `tcpreuse.*`, OCSF `unmapped.tcpreuse`): their conventions name fields in snake_case.
 * Per event on the consumer's hot path, so a key's snake_case form is worked out once and kept
 * (events have a few dozen distinct keys), and objects are walked with for..in, not entries().
 */
const SNAKE = new Map<string, string>();

function snakeKey(k: string): string {
  let s = SNAKE.get(k);
  if (s === undefined) {
    s = k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
    if (SNAKE.size < 10_000) SNAKE.set(k, s); // bounded: keys of odd input objects do not pile up
  }
  return s;
}

/** `value` with snake_case keys; `omit` leaves out top-level fields (those a format already maps to its own). */
export function snakeCased(value: unknown, omit?: ReadonlySet<string>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => snakeCased(v));
  const o = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k in o) {
    const v = o[k];
    if (v !== undefined && !omit?.has(k)) out[snakeKey(k)] = v !== null && typeof v === 'object' ? snakeCased(v) : v;
  }
  return out;
}
