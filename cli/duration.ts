// Durations as the flags take them: `500ms`, `30s`, `1m`, `1h30m`.
import { UsageError } from './output.ts';

export function parseDuration(value: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== value) {
    throw new UsageError(`invalid duration ${JSON.stringify(value)} (use e.g. 30s, 1m, 1h30m)`);
  }
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit!]!, 0);
}
