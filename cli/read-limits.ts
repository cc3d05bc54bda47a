// The `--max-*` flags of the commands that read manifests: limits of lib/kube/manifest-reader.ts.
import type { Command } from 'commander';
import { DEFAULT_READ_LIMITS, type ReadLimits } from '../lib/kube/manifest-reader.ts';
import { UsageError } from './output.ts';

export interface ReadLimitOptions {
  maxManifestBytes?: string;
  maxFileBytes?: string;
  maxYamlAliases?: string;
}

export function addReadLimitOptions(command: Command): Command {
  const d = DEFAULT_READ_LIMITS;
  return command
    .option('--max-manifest-bytes <n>', `largest object, YAML aliases expanded (default ${d.maxDocumentBytes})`)
    .option('--max-file-bytes <n>', `largest manifest file (default ${d.maxFileBytes})`)
    .option(
      '--max-yaml-aliases <n>',
      `YAML aliases one document may use; 0 refuses aliases (default ${d.maxAliasCount})`,
    );
}

function count(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new UsageError(`${flag} must be a whole number, not ${value}`);
  return n;
}

export function readLimitsFrom(options: ReadLimitOptions): ReadLimits {
  const d = DEFAULT_READ_LIMITS;
  return {
    maxDocumentBytes: count(options.maxManifestBytes, '--max-manifest-bytes', d.maxDocumentBytes),
    maxFileBytes: count(options.maxFileBytes, '--max-file-bytes', d.maxFileBytes),
    maxAliasCount: count(options.maxYamlAliases, '--max-yaml-aliases', d.maxAliasCount),
  };
}
