// The full local pass (controllers/local.ts runs it when no remembered pass answers): admission,
// the sets, then every variant at once so that each repository receives its drafts in as few atomic
// pushes as possible, level after level and wave after wave.
import { join } from 'node:path';
import PQueue from 'p-queue';
import {
  API_VERSION,
  describeFieldErrors,
  PACKAGE_VARIANT_KIND,
  PACKAGE_VARIANT_SET_KIND,
  ROLLOUT_HOLD_ANNOTATION,
  validateManifests,
  withoutNulls,
  type KubeObject,
  type PackageVariant,
  type PackageVariantSet,
} from '../api/v1alpha1/index.ts';
import { LocalObjectStore, type RefusedObject } from './local-store.ts';
import { defaultCacheDir, GitStores, type RepositoryRead } from './packagevariant/git-stores.ts';
import { ContentThreads } from './packagevariant/content-threads.ts';
import { MEMO_FILE, ReconcileMemo } from './packagevariant/memo.ts';
import { PushCoalescer } from './packagevariant/push-coalescer.ts';
import { PackageVariantReconciler } from './packagevariant/reconciler.ts';
import { nextStatus } from './packagevariant/status.ts';
import { PackageVariantSetReconciler } from './packagevariantset/reconciler.ts';
import { nextSetStatus } from './packagevariantset/status.ts';
import { setUpstreamFinder } from './set-upstream.ts';
import { keyOf, keyString, parseKey } from './store.ts';
import { lineageOf, repositoryUrls } from './lineage.ts';
import { branchRef } from '../lib/git/refs.ts';
import {
  DEFAULT_PASS_CONCURRENCY,
  type DraftPreview,
  type LocalRunOptions,
  type LocalRunResult,
  type Rejection,
} from './local.ts';

/** Rollout waves one local run may go through (each: the sets, then the variants they released). */
const MAX_ROLLOUT_ROUNDS = 100;
/** Levels of derivation (blueprint → regional → site …) one local run carries a published change down. */
const MAX_LEVELS = 16;

/**
 * Admission, as the API server does it for objects applied to a cluster: the schema, the semantic
 * rules and unique names; null fields pruned. Refused objects never reach the reconcilers.
 */
function admit(input: unknown[], describe?: (index: number) => string) {
  const problems = validateManifests(input, describe);
  const admitted: KubeObject[] = [];
  const rejected: Rejection[] = [];
  input.forEach((object, index) => {
    const errors = problems[index]!;
    if (errors.length) rejected.push({ index, object, errors });
    else admitted.push(withoutNulls(object as KubeObject));
  });
  return { admitted, rejected };
}

/** A refused object that still has a usable kind and name: what its dependents are told about. */
function refusal({ object, errors }: Rejection): (RefusedObject & { object: KubeObject }) | undefined {
  const o = object as KubeObject;
  const meta = typeof o === 'object' && o !== null ? o.metadata : undefined;
  if (typeof o?.kind !== 'string' || typeof meta?.name !== 'string') return undefined;
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
  return { kind: o.kind, namespace, name: meta.name, message: describeFieldErrors(errors), object: o };
}

/**
 * The variants the input declares: its PackageVariants and those its PackageVariantSets generate
 * (their targets rendered; no git is read, so a set's upstream revision is not checked).
 */
export async function expandSetsLocally(
  input: unknown[],
  describe?: (index: number) => string,
): Promise<{ variants: PackageVariant[]; store: LocalObjectStore; rejected: Rejection[] }> {
  const { admitted, rejected } = admit(input, describe);
  const store = new LocalObjectStore(
    admitted,
    rejected.map(refusal).filter((r) => r !== undefined),
  );
  const sets = new PackageVariantSetReconciler({ objects: store });
  for (const o of store.all()) if (o.kind === PACKAGE_VARIANT_SET_KIND) await sets.reconcile(keyString(keyOf(o)));
  return { variants: store.all().filter((o) => o.kind === PACKAGE_VARIANT_KIND) as PackageVariant[], store, rejected };
}

/** One full pass; `reads`: the git repositories it read, when a pass could be asked again from refs alone. */
export async function runPass(
  input: unknown[],
  options: LocalRunOptions,
): Promise<{ result: LocalRunResult; reads: RepositoryRead[] | undefined }> {
  const { admitted, rejected } = admit(input, options.describe);
  const refused = rejected.map(refusal).filter((r) => r !== undefined);
  const store = new LocalObjectStore(admitted, refused);
  const stores = new GitStores({
    objects: store,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
  });
  // Nothing is gained by pushing early in a one-shot pass: each repository is pushed once every
  // running reconcile waits for its push.
  const pushes = new PushCoalescer({ maxDelayMs: Infinity });
  // A scheduled run with nothing changed since the last one decides from refs and trees alone.
  const memo = new ReconcileMemo(join(options.cacheDir ?? defaultCacheDir(), MEMO_FILE));
  const contentThreads = options.threads ? new ContentThreads(options.threads) : undefined;
  const reconciler = new PackageVariantReconciler({
    objects: store,
    stores,
    pushes,
    memo,
    ...(contentThreads ? { contentThreads } : {}),
    ...(options.conflictPolicy ? { conflictPolicy: options.conflictPolicy } : {}),
    ...(options.render ? { render: options.render } : {}),
  });
  const setReconciler = new PackageVariantSetReconciler({ objects: store, findUpstream: setUpstreamFinder(stores) });
  const keysOf = (kind: string) =>
    store
      .all()
      .filter((o) => o.kind === kind)
      .map((o) => keyString(keyOf(o)));
  const errors = new Map<string, string>();
  const setKeys = keysOf(PACKAGE_VARIANT_SET_KIND);
  const reconcileSets = async () => {
    for (const key of setKeys) {
      try {
        await setReconciler.reconcile(key);
        errors.delete(key);
      } catch (error) {
        errors.set(key, error instanceof Error ? error.message : String(error));
      }
    }
  };
  const queue = new PQueue({ concurrency: options.concurrency ?? DEFAULT_PASS_CONCURRENCY });
  let done = 0;
  let total = 0;
  const reconcileVariants = async (keys: string[]) => {
    total += keys.length;
    await Promise.all(
      keys.map((key) =>
        queue.add(async () => {
          try {
            await pushes.track(() => reconciler.reconcile(key));
            errors.delete(key);
          } catch (error) {
            errors.set(key, error instanceof Error ? error.message : String(error));
          }
          options.onProgress?.(++done, total);
        }),
      ),
    );
    await pushes.drain();
  };
  /** A value of every variant in the store, by key. */
  const perVariant = <T>(of: (pv: PackageVariant) => T) =>
    new Map(
      (store.all().filter((o) => o.kind === PACKAGE_VARIANT_KIND) as PackageVariant[]).map((pv) => [
        keyString(keyOf(pv)),
        of(pv),
      ]),
    );
  const publishedCommits = () =>
    perVariant((pv) => pv.status?.downstreamTargets?.find((t) => t.lifecycle === 'Published')?.commit);
  // A variant whose downstream was published in this pass (publishPolicy: Automatic) changed the
  // upstream of the variants below it: they are reconciled again, level after level.
  const reconcileThroughLevels = async (keys: string[]) => {
    let next = keys;
    for (let level = 0; next.length && level < MAX_LEVELS; level++) {
      const before = publishedCommits();
      await reconcileVariants(next);
      const variants = store.all().filter((o) => o.kind === PACKAGE_VARIANT_KIND) as PackageVariant[];
      const published = [...publishedCommits()].filter(([key, commit]) => commit && commit !== before.get(key));
      const edges = lineageOf(variants, repositoryUrls(store.all()));
      const changed = new Set(published.map(([key]) => edges.find((e) => e.variant === key)?.downstream));
      next = [...new Set(edges.filter((e) => changed.has(e.upstream)).map((e) => e.variant))];
    }
  };
  // Which variants may move now (not held by a set's rollout), and which are being deleted.
  const gates = () =>
    perVariant(
      (pv) =>
        `${pv.metadata?.annotations?.[ROLLOUT_HOLD_ANNOTATION] === undefined}/${!!pv.metadata?.deletionTimestamp}`,
    );
  try {
    // Sets first, so that their variants exist; then every variant; then, while a set's rollout
    // releases more variants (a wave was published) or deletes some, the variants that changed.
    await reconcileSets();
    await reconcileThroughLevels(keysOf(PACKAGE_VARIANT_KIND));
    for (let round = 0; setKeys.length && round < MAX_ROLLOUT_ROUNDS; round++) {
      const before = gates();
      await reconcileSets();
      const changed = [...gates()].filter(([key, gate]) => before.get(key) !== gate).map(([key]) => key);
      if (!changed.length) break;
      await reconcileThroughLevels(changed);
    }
  } catch (error) {
    stores.close();
    throw error;
  } finally {
    await contentThreads?.close();
  }
  memo.save();
  let reads: RepositoryRead[] | undefined;
  const keys = keysOf(PACKAGE_VARIANT_KIND);
  const variants = await Promise.all(keys.map((key) => store.get('PackageVariant', parseKey(key))));
  let previews: DraftPreview[] = [];
  try {
    if (options.dryRun)
      previews = await previewsOf(
        stores,
        variants.filter((v) => v !== undefined),
      );
    reads = stores.reads();
  } finally {
    stores.close();
  }
  const sets = await Promise.all(setKeys.map((key) => store.get('PackageVariantSet', parseKey(key))));
  // Refused variants and sets of ours are reported as Stalled, once per name (duplicates are refused together).
  const stalled = (kind: string) =>
    [...new Map(refused.filter((r) => r.kind === kind).map((r) => [`${r.namespace}/${r.name}`, r])).values()]
      .filter((r) => r.object.apiVersion === API_VERSION)
      .map((r) => {
        const { status: _given, ...rest } = r.object as PackageVariant;
        const object = { ...rest, metadata: { ...rest.metadata, namespace: r.namespace } };
        const outcome = { kind: 'stalled', reason: 'ValidationError', message: r.message } as const;
        const status = kind === PACKAGE_VARIANT_KIND ? nextStatus(object, outcome) : nextSetStatus(object, outcome);
        return { ...object, status };
      });
  const result: LocalRunResult = {
    store,
    variants: [...variants.filter((v) => v !== undefined), ...(stalled(PACKAGE_VARIANT_KIND) as PackageVariant[])],
    sets: [...sets.filter((s) => s !== undefined), ...(stalled(PACKAGE_VARIANT_SET_KIND) as PackageVariantSet[])],
    errors,
    rejected,
    pushes: pushes.pushes,
    unchanged: memo.hits,
    remembered: false,
    previews,
  };
  return { result, reads };
}

async function previewsOf(stores: GitStores, variants: PackageVariant[]): Promise<DraftPreview[]> {
  const byCommit = new Map<string, PackageVariant>();
  for (const pv of variants)
    for (const t of pv.status?.downstreamTargets ?? []) if (t.commit) byCommit.set(t.commit, pv);
  // a few diffs at a time: each is two short git processes
  const diffs = new PQueue({ concurrency: 4 });
  const previews: Array<Promise<DraftPreview>> = [];
  for (const git of stores.all()) {
    if (!git.previewed.length) continue;
    const tip = await git.ref(branchRef(git.branch));
    for (const update of git.previewed) {
      const pv = update.newOid ? byCommit.get(update.newOid) : undefined;
      const packageName = pv?.spec?.downstream?.package;
      previews.push(
        (async () => ({
          ...(pv ? { variant: keyString(keyOf(pv)) } : {}),
          repository: git.url,
          ref: update.ref,
          ...(update.newOid ? { commit: update.newOid } : {}),
          ...(packageName ? { packageName } : {}),
          ...(update.newOid && packageName
            ? await diffs.add(() => git.diffPackage(packageName, tip, update.newOid!))
            : { files: [], patch: '' }),
        }))(),
      );
    }
  }
  return Promise.all(previews);
}
