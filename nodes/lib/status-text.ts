/** Node status texts: a count with its noun, singular for one ("1 reuse", "2 reuses"). */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
