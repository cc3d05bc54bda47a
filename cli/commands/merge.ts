import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import {
  readPackageDirWithModes,
  updatePackageDir,
  writePackageDir,
  type PackageFiles,
  type PackageModes,
} from '../../lib/kpt/package.ts';
import {
  MergeConflictError,
  mergeModes,
  mergePackages,
  STRATEGIES,
  type Conflict,
  type ConflictPolicy,
  type Generation,
  type MergeResult,
  type Strategy,
} from '../../lib/merge/index.ts';
import { table } from '../output.ts';

export interface MergeCommandOptions {
  original: string;
  updated: string;
  local: string;
  out?: string;
  strategy: string;
  conflicts: string;
  generation: string;
  output: string;
  /** Merge as a subpackage of the update (kpt's non-root package): the Kptfile takes upstream's `upstream`/`upstreamLock`. */
  nonRoot?: boolean;
}

const POLICIES: Record<string, ConflictPolicy> = {
  report: 'upstream-wins',
  'upstream-wins': 'upstream-wins',
  'local-wins': 'local-wins',
  fail: 'fail',
};

/** Runs `pvctl merge`; returns the exit code (0 ok, 1 error, 2 conflicts under `--conflicts=fail`). */
export function runMerge(
  options: MergeCommandOptions,
  out: (line: string) => void,
  err: (line: string) => void,
): number {
  const strategy = options.strategy as Strategy;
  if (!STRATEGIES.includes(strategy)) {
    err(`unknown update strategy "${options.strategy}" (one of ${STRATEGIES.join(', ')})`);
    return 1;
  }
  const policy = POLICIES[options.conflicts];
  if (!policy) {
    err(`unknown --conflicts value "${options.conflicts}" (report, local-wins or fail)`);
    return 1;
  }
  if (options.generation !== 'B' && options.generation !== 'C') {
    err(`unknown --generation "${options.generation}" (B or C)`);
    return 1;
  }
  if (options.output !== 'table' && options.output !== 'json') {
    err(`unknown --output "${options.output}" (table or json)`);
    return 1;
  }
  for (const [flag, dir] of [
    ['--original', options.original],
    ['--updated', options.updated],
    ['--local', options.local],
  ] as const) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      err(`${flag}: ${dir} is not a directory`);
      return 1;
    }
  }
  const target = options.out ?? options.local;
  let result: MergeResult;
  let local: { files: PackageFiles; modes: PackageModes };
  let modes: PackageModes;
  try {
    local = readPackageDirWithModes(options.local);
    const original = readPackageDirWithModes(options.original);
    const updated = readPackageDirWithModes(options.updated);
    result = mergePackages(
      { original: original.files, updated: updated.files, local: local.files },
      { strategy, conflicts: policy, generation: options.generation as Generation, isRoot: !options.nonRoot },
    );
    const merged = mergeModes(original.modes, updated.modes, local.modes, result.files, {
      strategy,
      conflicts: policy,
    });
    result = { ...result, files: merged.files, conflicts: [...result.conflicts, ...merged.conflicts] };
    modes = merged.modes;
  } catch (e) {
    if (e instanceof MergeConflictError) {
      printReport(options.output, e.conflicts, undefined, out);
      err(`${e.conflicts.length} conflict(s); nothing written (--conflicts=fail)`);
      return 2;
    }
    err(`merge failed: ${(e as Error).message}`);
    return 1;
  }
  try {
    if (options.out) writePackageDir(target, result.files, modes);
    else updatePackageDir(target, local.files, result.files, { before: local.modes, after: modes });
  } catch (e) {
    err(`cannot write the result into ${target}: ${(e as Error).message}`);
    return 1;
  }
  printReport(options.output, result.conflicts, { result, target }, out);
  return 0;
}

function printReport(
  format: string,
  conflicts: Conflict[],
  written: { result: MergeResult; target: string } | undefined,
  out: (line: string) => void,
): void {
  if (format === 'json') {
    out(JSON.stringify({ written: written?.target ?? null, stats: written?.result.stats ?? null, conflicts }, null, 2));
    return;
  }
  if (conflicts.length) {
    const rows = [
      ['FILE', 'RESOURCE', 'FIELD', 'ORIGINAL', 'UPDATED', 'LOCAL', 'WINNER'],
      ...conflicts.map((c) => [
        c.file,
        c.resource,
        c.field,
        show(c.original),
        show(c.updated),
        show(c.local),
        c.winner,
      ]),
    ];
    for (const line of table(rows).split('\n')) out(line);
  }
  if (written) {
    const s = written.result.stats;
    out(
      `merged into ${written.target}: ${s.filesChanged} file(s) changed; resources: ${s.merged} merged, ` +
        `${s.added} added, ${s.deleted} deleted, ${s.unchanged} unchanged; ${conflicts.length} conflict(s)`,
    );
  }
}

function show(value: string | undefined): string {
  if (value === undefined) return '<absent>';
  if (value === '') return '""';
  return value.length > 40 ? `${value.slice(0, 37)}...` : value;
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('three-way merge of kpt package directories (kpt resource-merge semantics) with a conflict report')
    .requiredOption('--original <dir>', 'upstream package at the fork point')
    .requiredOption('--updated <dir>', 'new upstream package')
    .requiredOption('--local <dir>', 'downstream package (written in place unless --out)')
    .option('--out <dir>', 'write the result here instead of --local')
    .option('--strategy <strategy>', `update strategy: ${STRATEGIES.join(', ')}`, 'resource-merge')
    .option('--conflicts <policy>', 'report (upstream wins), local-wins, or fail (exit 2, nothing written)', 'report')
    .option('--generation <gen>', 'B (kpt v1.0.0-beta.62, as Porch) or C (kpt HEAD)', 'B')
    .option('--output <format>', 'table or json', 'table')
    .option(
      '--non-root',
      "merge as a non-root package (a subpackage of the update): the Kptfile takes upstream's upstream/upstreamLock",
    )
    .action((options: MergeCommandOptions) => {
      process.exitCode = runMerge(
        options,
        (line) => console.log(line),
        (line) => console.error(line),
      );
    });
}
