// `pvctl reconcile -f PATH...`: one reconcile pass over Repositories, PackageVariants, Secrets and
// injection sources read from YAML, with no cluster; prints the resulting status.
import { THREADS_OPTION, threadsFrom } from '../threads-option.ts';
import { addRenderOptions, renderOptionsFrom, type RenderFlagOptions } from '../render-options.ts';
import type { Command } from 'commander';
import {
  formatFieldError,
  PACKAGE_VARIANT_KIND,
  PACKAGE_VARIANT_SET_KIND,
  type KubeObject,
  type PackageVariant,
  type PackageVariantSet,
} from '../../api/v1alpha1/index.ts';
import { describeSource, loadManifests } from '../../lib/kube/manifest-reader.ts';
import { DEFAULT_PASS_CONCURRENCY, reconcileLocally, type DraftPreview } from '../../controllers/local.ts';
import { keyOf, keyString } from '../../controllers/store.ts';
import { createProgress, type Progress } from '../progress.ts';
import { getCondition } from '../../lib/kube/conditions.ts';
import { updatesOf } from '../printers.ts';
import { sweepStaleKeyDirs } from '../../lib/git/credentials.ts';
import { describeObject, parseOutputFormat, serialize, table, UsageError } from '../output.ts';
import { addReadLimitOptions, readLimitsFrom, type ReadLimitOptions } from '../read-limits.ts';
import { applyGitLimits, MAX_PUSH_REFS_OPTION, type GitLimitOptions } from '../git-limits.ts';

interface ReconcileOptions extends ReadLimitOptions, GitLimitOptions {
  filename: string[];
  output?: string;
  cacheDir?: string;
  concurrency?: string;
  threads?: string;
  dryRun?: boolean;
  failOnConflicts?: boolean;
}

/** Exit code of `--fail-on-conflicts` when some draft has merge conflicts (1 stays "not all Ready"). */
export const CONFLICTS_EXIT = 3;

export function isReady(pv: PackageVariant): boolean {
  return getCondition(pv.status?.conditions, 'Ready')?.status === 'True';
}

const conflictsOf = (pv: PackageVariant) =>
  (pv.status?.downstreamTargets ?? []).reduce((n, t) => n + (t.conflicts?.length ?? 0), 0);

/** `previews` (a dry run): a FILES column, the package files each variant's push would change. */
function statusRows(variants: PackageVariant[], previews?: DraftPreview[]): string[][] {
  const header = ['NAMESPACE', 'NAME', 'READY', 'REASON', 'DOWNSTREAM', 'LIFECYCLE', 'CONFLICTS', 'UPDATES', 'MESSAGE'];
  const rows = [previews ? [...header.slice(0, 7), 'FILES', ...header.slice(7)] : header];
  const now = Date.now();
  const files = new Map<string, number>();
  for (const p of previews ?? []) if (p.variant) files.set(p.variant, (files.get(p.variant) ?? 0) + p.files.length);
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
      String(conflictsOf(pv)),
      ...(previews ? [String(files.get(keyString(keyOf(pv))) ?? 0)] : []),
      updatesOf(pv, now),
      ready?.status === 'True' ? '' : (cause?.message ?? ''),
    ]);
  }
  return rows;
}

/** `-o diff`: each preview as a unified diff under a header naming the variant and the ref. */
function diffLines(previews: DraftPreview[]): string[] {
  const lines: string[] = [];
  for (const p of previews) {
    const what = p.commit ? `${p.files.length} file(s)` : 'deleted';
    lines.push(`# ${p.variant ?? '(no variant)'}: ${p.repository} ${p.ref} (${what})`);
    if (p.patch) lines.push(p.patch.replace(/\n$/, ''));
  }
  return lines;
}

/** The variants a set would create, change or delete: the input's variants against the pass's. */
function setChanges(input: KubeObject[], variants: PackageVariant[]): string[][] {
  const key = (o: KubeObject) => keyString(keyOf(o));
  const setOf = (o: KubeObject) => o.metadata?.ownerReferences?.find((r) => r.kind === PACKAGE_VARIANT_SET_KIND)?.name;
  const row = (change: string, pv: PackageVariant, set: string) => [
    change,
    key(pv),
    keyString({ namespace: keyOf(pv).namespace, name: set }),
    pv.spec?.downstream?.package ?? '',
  ];
  const before = new Map(
    input.filter((o) => o.kind === PACKAGE_VARIANT_KIND).map((o) => [key(o), o as PackageVariant]),
  );
  const after = new Set(variants.map(key));
  const rows: string[][] = [];
  for (const pv of variants) {
    const set = setOf(pv);
    const old = before.get(key(pv));
    const change = pv.metadata?.deletionTimestamp
      ? 'delete'
      : !old
        ? 'create'
        : JSON.stringify(old.spec) !== JSON.stringify(pv.spec)
          ? 'update'
          : undefined;
    if (set && change) rows.push(row(change, pv, set));
  }
  for (const [k, old] of before) {
    const set = setOf(old);
    if (set && !after.has(k)) rows.push(row('delete', old, set));
  }
  return rows.length ? [['CHANGE', 'PACKAGEVARIANT', 'PACKAGEVARIANTSET', 'DOWNSTREAM'], ...rows] : [];
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
  progress?: Progress,
): Promise<number> {
  const diff = options.output === 'diff';
  if (diff && !options.dryRun) throw new UsageError('-o diff shows what a push would change: it needs --dry-run');
  const format = diff ? 'table' : parseOutputFormat(options.output);
  const concurrency = options.concurrency ? Number(options.concurrency) : undefined;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
    throw new UsageError(`--concurrency must be a positive integer, not ${options.concurrency}`);
  }
  const threads = threadsFrom(options.threads);
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
      ...(threads !== undefined ? { threads } : {}),
      render: renderOptionsFrom(options),
      describe: (i) => describeSource(objects[i]!),
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(progress ? { onProgress: (done: number, total: number) => progress.update(done, total) } : {}),
    },
  );
  progress?.finish();
  const previews = options.dryRun ? result.previews : undefined;
  for (const { index, object, errors: problems } of result.rejected) {
    for (const problem of problems) {
      err(`${describeSource(objects[index]!)} ${describeObject(object)}: ${formatFieldError(problem)}`);
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const ready = result.variants.filter(isReady).length;
  const refused = result.rejected.length ? `; ${result.rejected.length} object(s) refused` : '';
  const summary = previews
    ? `dry run: nothing pushed; ${previews.filter((p) => p.commit).length} ref(s) would be written and ` +
      `${previews.filter((p) => !p.commit).length} deleted in ${new Set(previews.map((p) => p.repository)).size} repository(ies); ` +
      `${ready}/${result.variants.length} PackageVariant(s) would be ready, in ${seconds}s${refused}`
    : `${ready}/${result.variants.length} PackageVariant(s) ready in ${seconds}s, ${result.pushes} push(es)` +
      `${result.unchanged ? `, ${result.unchanged} unchanged since the last run` : ''}${refused}`;
  if (diff) {
    for (const line of diffLines(previews!)) out(line);
    err(summary);
  } else if (format === 'table') {
    for (const line of table(statusRows(result.variants, previews)).split('\n')) out(line);
    if (result.sets.length) {
      out('');
      for (const line of table(setRows(result.sets)).split('\n')) out(line);
      // a preview says what the sets would do; a real pass has done it (the table above)
      const changes = previews
        ? setChanges(
            objects.map((o) => o.object as KubeObject),
            result.variants,
          )
        : [];
      if (changes.length) {
        out('');
        for (const line of table(changes).split('\n')) out(line);
      }
    }
    err(summary);
  } else {
    const items = [...result.sets, ...result.variants];
    out(serialize(format === 'json' ? { items } : items, format));
  }
  const setsReady = result.sets.every((s) => getCondition(s.status?.conditions, 'Ready')?.status === 'True');
  const clean = errors.length === 0 && result.rejected.length === 0;
  if (!(clean && result.variants.every(isReady) && setsReady)) return 1;
  return options.failOnConflicts && result.variants.some((pv) => conflictsOf(pv) > 0) ? CONFLICTS_EXIT : 0;
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
    .option('-o, --output <format>', 'table, yaml, json, or diff (with --dry-run: a unified diff per variant)', 'table')
    .option('--dry-run', 'compute every draft (merge, mutations, render) and push nothing; the table adds FILES')
    .option('--fail-on-conflicts', `exit ${CONFLICTS_EXIT} when any draft has merge conflicts (for CI)`)
    .option('--cache-dir <dir>', 'where bare git caches are kept (default ~/.cache/packagevariant-controller/git)')
    .option(
      '--concurrency <n>',
      `variants reconciled at once; each repository is pushed once per wave of this many (default ${DEFAULT_PASS_CONCURRENCY})`,
    )
    .option(...THREADS_OPTION)
    .option(...MAX_PUSH_REFS_OPTION)
    .action(async (options: ReconcileOptions & RenderFlagOptions) => {
      sweepStaleKeyDirs();
      // Stop at once: exiting kills the git processes and removes the SSH key directories (lib/git's
      // exit hooks); pushes are atomic, so cutting one off leaves nothing half-written.
      process.once('SIGTERM', () => process.exit(143));
      process.once('SIGINT', () => process.exit(130));
      const structured = options.output === 'yaml' || options.output === 'json';
      process.exitCode = await runReconcile(
        options,
        (l) => console.log(l),
        (l) => console.error(l),
        createProgress(process.stderr, 'reconciled', { quiet: structured }),
      );
    });
}
