/**
 * Editor values arrive as strings (a blank field is ""); these turn them into the options of the
 * operators, with one clear error per bad field, so a misconfigured node says which field is wrong
 * instead of failing on its first message.
 */
export class NodeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeConfigError';
  }
}

/** A number field: blank means "use the operator's default" (undefined). */
export function numberField(config: Record<string, unknown>, name: string, label: string, min = 0): number | undefined {
  const raw = config[name];
  if (raw === undefined || raw === null || raw === '') return undefined;
  const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
  if (!Number.isFinite(n) || n < min) throw new NodeConfigError(`${label} must be a number >= ${min}, got "${String(raw)}"`);
  return n;
}

export function choiceField<T extends string>(config: Record<string, unknown>, name: string, label: string, choices: readonly T[], fallback: T): T {
  const raw = config[name];
  if (raw === undefined || raw === null || raw === '') return fallback;
  if (!choices.includes(raw as T)) throw new NodeConfigError(`${label} must be one of ${choices.join(', ')}, got "${String(raw)}"`);
  return raw as T;
}

export function textField(config: Record<string, unknown>, name: string): string | undefined {
  const raw = config[name];
  return typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : undefined;
}
