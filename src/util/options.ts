/** Option validation shared by the operators: errors name the option, the allowed range and the value. */
export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

export function numberOption(
  owner: string,
  name: string,
  value: unknown,
  fallback: number,
  range: { min?: number; max?: number; integer?: boolean; infinite?: boolean } = {},
): number {
  if (value === undefined || value === null) return fallback;
  if (value === Infinity && range.infinite) return value;
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max && (!range.integer || Number.isInteger(value));
  if (!ok) {
    throw new OptionError(
      `${owner}: option "${name}" must be ${range.integer ? 'an integer' : 'a number'} in ${min}..${max}, got ${JSON.stringify(value)}`,
    );
  }
  return value as number;
}

export function stringOption(owner: string, name: string, value: unknown, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || value.length === 0) {
    throw new OptionError(`${owner}: option "${name}" must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

export const US_PER_S = 1_000_000;

/** Microseconds to seconds, rounded to the microsecond (what the events print). */
export function secondsBetween(fromUs: number, toUs: number): number {
  return Math.round(toUs - fromUs) / US_PER_S;
}
