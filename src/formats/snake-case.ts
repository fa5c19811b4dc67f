/**
 * An event's own fields with snake_case names, for the custom namespace of the SIEM formats
 * (ECS `tcpreuse.*`, OCSF `unmapped.tcpreuse`): their conventions name fields in snake_case.
 */
export function snakeCased(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCased);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v !== undefined) out[k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())] = snakeCased(v);
  }
  return out;
}
