// Output shared by the pvctl subcommands: aligned tables, YAML and JSON, object descriptions.
import { stringify } from 'yaml';
import type { KubeObject } from '../api/v1alpha1/index.ts';

export type OutputFormat = 'table' | 'yaml' | 'json';

export { UnavailableError, UsageError } from './exit-codes.ts';
import { UsageError } from './exit-codes.ts';

export function parseOutputFormat(value: string | undefined): OutputFormat {
  const format = value ?? 'table';
  if (format !== 'table' && format !== 'yaml' && format !== 'json') {
    throw new UsageError(`unknown output format ${JSON.stringify(format)}; use table, yaml or json`);
  }
  return format;
}

/** Rows (the first is the header) as left-aligned columns. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

/** Structured output for -o yaml|json. */
export function serialize(value: unknown, format: 'yaml' | 'json'): string {
  return format === 'json' ? JSON.stringify(value, null, 2) : stringify(value, { lineWidth: 0 }).trimEnd();
}

/** `Kind namespace/name` of an object read from a file, whatever it holds. */
export function describeObject(obj: unknown): string {
  const o = (typeof obj === 'object' && obj !== null ? obj : {}) as KubeObject;
  const text = (value: unknown, fallback: string) => (typeof value === 'string' && value ? value : fallback);
  const meta = typeof o.metadata === 'object' && o.metadata !== null ? o.metadata : {};
  const namespace = typeof meta.namespace === 'string' && meta.namespace ? `${meta.namespace}/` : '';
  return `${text(o.kind, '<no kind>')} ${namespace}${text(meta.name, '<unnamed>')}`;
}
