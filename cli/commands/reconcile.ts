// `pvctl reconcile -f PATH...`: one reconcile pass over Repositories, PackageVariants, Secrets and
// injection sources read from YAML, with no cluster; prints the resulting status.
import { addRenderOptions, renderOptionsFrom, type RenderFlagOptions } from '../render-options.ts';
import type { Command } from 'commander';
import { formatFieldError, type PackageVariant, type PackageVariantSet } from '../../api/v1alpha1/index.ts';
import { describeSource, loadManifests } from '../../lib/kube/manifest-reader.ts';
import { reconcileLocally } from '../../controllers/local.ts';
import { getCondition } from '../../lib/kube/conditions.ts';
import { sweepStaleKeyDirs } from '../../lib/git/credentials.ts';
import { describeObject, parseOutputFormat, serialize, table, UsageError } from '../output.ts';
import { addReadLimitOptions, readLimitsFrom, type ReadLimitOptions } from '../read-limits.ts';
import { applyGitLimits, MAX_PUSH_REFS_OPTION, type GitLimitOptions } from '../git-limits.ts';

interface ReconcileOptions extends ReadLimitOptions, GitLimitOptions {
  filename: string[];
  output?: string;
  cacheDir?: string;
  concurrency?: string;
}

export function isReady(pv: PackageVariant): boolean {
  return getCondition(pv.status?.conditions, 'Ready')?.status === 'True';
}

function statusRows(variants: PackageVariant[]): string[][] {
  const rows = [['NAMESPACE', 'NAME', 'READY', 'REASON', 'DOWNSTREAM', 'LIFECYCLE', 'CONFLICTS', 'MESSAGE']];
  for (const pv of variants) {
    const ready = getCondition(pv.status?.conditions, 'Ready');
    const stalled = getCondition(pv.status?.conditions, 'Stalled');
    const cause = ready?.status === 'True' ? ready : stalled?.status === 'True' ? stalled : ready;
    const targets = pv.status?.downstreamTargets ?? [];
    rows.push([
      pv.metadata?.namespace ?? '',
      pv.metadata?.name ?? '',
      ready?.status ?? 'Unknown',
      cause?.reason ?? '',
      targets.map((t) => t.name).join(',') || '-',
      targets.map((t) => t.lifecycle ?? '').join(',') || '-',
      String(targets.reduce((n, t) => n + (t.conflicts?.length ?? 0), 0)),
      ready?.status === 'True' ? '' : (cause?.message ?? ''),
    ]);
  }
  return rows;
}

function setRows(sets: PackageVariantSet[]): string[][] {
  const rows = [['NAMESPACE', 'PACKAGEVARIANTSET', 'READY', 'VARIANTS', 'UP-TO-DATE', 'PENDING', 'FAILED', 'MESSAGE']];
  for (const pvs of sets) {
    const ready = getCondition(pvs.status?.conditions, 'Ready');
    const counts = pvs.status?.variants;
    const rollout = pvs.status?.rollout?.message;
    rows.push([
      pvs.metadata?.namespace ?? '',
      pvs.metadata?.name ?? '',
      ready?.status ?? 'Unknown',
      String(counts?.total ?? 0),
      String(counts?.upToDate ?? 0),
      String((counts?.draftPending ?? 0) + (counts?.conflicted ?? 0) + (counts?.waiting ?? 0)),
      String(counts?.failed ?? 0),
      ready?.status === 'True' ? (rollout ?? '') : (ready?.message ?? ''),
    ]);
  }
  return rows;
}

export async function runReconcile(
  options: ReconcileOptions & RenderFlagOptions,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const format = parseOutputFormat(options.output);
  const concurrency = options.concurrency ? Number(options.concurrency) : undefined;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
    throw new UsageError(`--concurrency must be a positive integer, not ${options.concurrency}`);
  }
  applyGitLimits(options);
  // A file or an object that cannot be read or admitted is an error line (and a non-zero exit); the
  // rest of the fleet is reconciled all the same. What depends on a refused object stalls.
  const { objects, errors } = loadManifests(options.filename, readLimitsFrom(options));
  for (const e of errors) err(`${describeSource(e)}: ${e.message}`);
  if (objects.length === 0 && errors.length === 0) {
    err(`no manifests found in ${options.filename.join(', ')}`);
    return 1;
  }
  const started = performance.now();
  const result = await reconcileLocally(
    objects.map((o) => o.object),
    {
      ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      ...(concurrency ? { concurrency } : {}),
      render: renderOptionsFrom(options),
      describe: (i) => describeSource(objects[i]!),
    },
  );
  for (const { index, object, errors: problems } of result.rejected) {
    for (const problem of problems) {
      err(`${describeSource(objects[index]!)} ${describeObject(object)}: ${formatFieldError(problem)}`);
    }
  }
  if (format === 'table') {
    for (const line of table(statusRows(result.variants)).split('\n')) out(line);
    if (result.sets.length) {
      out('');
      for (const line of table(setRows(result.sets)).split('\n')) out(line);
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const ready = result.variants.filter(isReady).length;
    const refused = result.rejected.length ? `; ${result.rejected.length} object(s) refused` : '';
    err(
      `${ready}/${result.variants.length} PackageVariant(s) ready in ${seconds}s, ${result.pushes} push(es)${refused}`,
    );
  } else {
    const items = [...result.sets, ...result.variants];
    out(serialize(format === 'json' ? { items } : items, format));
  }
  const setsReady = result.sets.every((s) => getCondition(s.status?.conditions, 'Ready')?.status === 'True');
  const clean = errors.length === 0 && result.rejected.length === 0;
  return clean && result.variants.every(isReady) && setsReady ? 0 : 1;
}

export function registerReconcile(program: Command): void {
  addRenderOptions(addReadLimitOptions(program.command('reconcile')))
    .description(
      'reconcile PackageVariants and PackageVariantSets read from YAML once, with no cluster, and print their status',
    )
    .requiredOption(
      '-f, --filename <path...>',
      'files or directories: Repositories, PackageVariants, PackageVariantSets, Secrets, injection sources',
    )
    .option('-o, --output <format>', 'table, yaml or json', 'table')
    .option('--cache-dir <dir>', 'where bare git caches are kept (default ~/.cache/packagevariant-controller/git)')
    .option(
      '--concurrency <n>',
      'variants reconciled at once (default: all, so each repository is pushed once; lower bounds memory)',
    )
    .option(...MAX_PUSH_REFS_OPTION)
    .action(async (options: ReconcileOptions & RenderFlagOptions) => {
      sweepStaleKeyDirs();
      // Stop at once: exiting kills the git processes and removes the SSH key directories (lib/git's
      // exit hooks); pushes are atomic, so cutting one off leaves nothing half-written.
      process.once('SIGTERM', () => process.exit(143));
      process.once('SIGINT', () => process.exit(130));
      process.exitCode = await runReconcile(
        options,
        (l) => console.log(l),
        (l) => console.error(l),
      );
    });
}
