// Step 1 of a PackageVariant reconcile: every read. The variant's Repositories, the upstream
// revision (through the upstream source), the downstream revisions and drafts, the package contents
// the content pipeline will need, and the in-cluster objects its injection points may select. The
// result is a plain value; nothing after this step reads git or the API.
import {
  describeFieldErrors,
  validateRepository,
  type DefaultedPackageVariantSpec,
  type KubeObject,
  type PackageVariant,
  type Repository,
} from '../../api/v1alpha1/index.ts';
import type { Owner } from '../../lib/git/message.ts';
import type { GitStore, PackageRevision } from '../../lib/git/store.ts';
import { readKptfile } from '../../lib/kpt/kptfile.ts';
import { KPTFILE, type PackageFiles } from '../../lib/kpt/package.ts';
import { TerminalError } from '../errors.ts';
import type { ObjectStore } from '../store.ts';
import { keyString } from '../store.ts';
import { classifyDownstream, ownerOf, type DownstreamState } from './downstream.ts';
import { locationOf, type GitStores } from './git-stores.ts';
import { readPackageContent } from '../repositories/git-source.ts';
import type { PackageContent, TrackedRevision } from '../repositories/source.ts';
import { likelyInjectionPoints } from './injection.ts';
import { behindOf } from './status.ts';
import { resolveUpstream, upstreamLocation, UpstreamNotFoundError, type ResolvedUpstream } from './upstream.ts';

export type { PackageContent };

/** The objects of one apiVersion/kind in the variant's namespace, or why they could not be listed. */
export type InjectionSource = { objects: KubeObject[] } | { error: string };

export interface Observed {
  pv: PackageVariant;
  key: string;
  spec: DefaultedPackageVariantSpec;
  owner: Owner;
  downRepo: Repository;
  upRepo?: Repository;
  downStore: GitStore;
  packageName: string;
  /** The package's path in the downstream repository (with the Repository's directory). */
  packagePath: string;
  upstream: ResolvedUpstream;
  downstream: DownstreamState;
  /** What the next draft builds on: the variant's draft, else the latest published revision. */
  base?: { revision: PackageRevision; content: PackageContent };
  /** The upstream commit the base's Kptfile is locked to, and whether its package tree is the upstream's now. */
  lock?: { commit: string; current: boolean; ref?: string };
  /** The upstream package now (read when a clone or an upgrade is due). */
  updated?: PackageContent;
  /** The upstream package at the base's lock (read for an upgrade; empty when the lock is unknown). */
  original?: PackageContent;
  /** Injection sources by `apiVersion/kind`, for every injection point the inputs hold. */
  injection: Map<string, InjectionSource>;
  /** Revisions the variant owns of other packages of its downstream repository. */
  elsewhere: PackageRevision[];
  /** The package on the deployment branch is no longer what the variant's draft started from. */
  branchMoved: boolean;
  /** The latest published revision carries the current upstream package tree (for metrics). */
  publishedCurrent?: boolean;
  /** What `status.upstream` is made of (see upstreamStatus in status.ts). */
  upstreamHistory?: UpstreamHistory;
  /** Without a downstream yet: a file on the deployment branch where the package would go. */
  fileInTheWay?: string;
  /** Older variants that name the same downstream package (the oldest keeps it). */
  rivals: string[];
}

/** The upstream revisions the published downstream may be behind, as far as status.upstream needs them. */
export interface UpstreamHistory {
  /** The upstream package's published revisions, oldest first (none for an upstream without any). */
  revisions: TrackedRevision[];
  /** The upstream lock of the latest published downstream revision; `current`: its package tree is the upstream's now. */
  published?: { commit: string; current: boolean; ref?: string };
  /** Commit times (RFC 3339) of the upstream revisions `behindSince` may name (only those behind a lock). */
  times: Map<string, string>;
}

export interface ObserveDeps {
  objects: ObjectStore;
  stores: GitStores;
  /** Fetch the downstream and upstream repositories again, even when they were fetched before. */
  refetch?: boolean;
  /** Told what the variant uses as soon as it is known, even when a later read fails. */
  onRepositories?(names: string[]): void;
}

/** What a reconcile reads from refs alone: the repositories, the upstream revision and the downstream's revisions. */
export interface ObservedRefs {
  key: string;
  downRepo: Repository;
  upRepo?: Repository;
  downStore: GitStore;
  upstream: ResolvedUpstream;
  packageName: string;
  owner: Owner;
  revisions: PackageRevision[];
  downstream: DownstreamState;
  /** The upstream package's published revisions, oldest first, from refs (none for an upstream without any). */
  upstreamRevisions: TrackedRevision[];
}

/** The first part of observe: every read that needs no package content (refs, trees, objects). */
export async function observeRefs(
  deps: ObserveDeps,
  pv: PackageVariant,
  spec: DefaultedPackageVariantSpec,
): Promise<ObservedRefs> {
  const { stores } = deps;
  const namespace = pv.metadata?.namespace ?? 'default';
  const key = keyString({ namespace, name: pv.metadata!.name! });
  const downRepo = await repository(deps.objects, namespace, spec.downstream!.repo!, 'spec.downstream.repo');
  if (downRepo.spec?.type === 'oci') {
    throw new TerminalError(
      'InvalidRepository',
      `Repository ${namespace}/${downRepo.metadata!.name} (spec.downstream.repo) is an OCI repository: OCI repositories are upstreams only; downstream packages live in git`,
    );
  }
  const upRepo =
    spec.upstream!.git || spec.upstream!.oci
      ? undefined
      : await repository(deps.objects, namespace, spec.upstream!.repo!, 'spec.upstream.repo');
  deps.onRepositories?.([downRepo, upRepo].filter((r) => r !== undefined).map((r) => r.metadata!.name!));
  const downStore = await stores.get(locationOf(downRepo));
  const upLocation = upstreamLocation(pv, upRepo);
  const upSource = stores.source(upLocation);
  if (deps.refetch) {
    stores.invalidate(downStore);
    await stores.invalidateSource(upLocation);
  }
  await Promise.all([stores.ensureRefreshed(downStore), upSource.sync()]);
  let upstream: ResolvedUpstream;
  try {
    upstream = await resolveUpstream(pv, upSource);
  } catch (error) {
    if (error instanceof UpstreamNotFoundError) throw new TerminalError('UpstreamNotFound', error.message);
    throw error;
  }
  const packageName = spec.downstream!.package!;
  const owner = ownerOf(pv);
  const revisions = await downStore.listRevisions({ packageName });
  const downstream = classifyDownstream(revisions, owner, spec.adoptionPolicy === 'adoptExisting');
  const upstreamRevisions = (await upSource.publishedRevisions?.(upstream.packageName)) ?? [];
  return {
    key,
    downRepo,
    ...(upRepo ? { upRepo } : {}),
    downStore,
    upstream,
    packageName,
    owner,
    revisions,
    downstream,
    upstreamRevisions,
  };
}

export async function observeVariant(
  deps: ObserveDeps,
  pv: PackageVariant,
  spec: DefaultedPackageVariantSpec,
  refs?: ObservedRefs,
): Promise<Observed> {
  const { key, downRepo, upRepo, downStore, upstream, packageName, owner, downstream, upstreamRevisions } =
    refs ?? (await observeRefs(deps, pv, spec));
  const namespace = pv.metadata?.namespace ?? 'default';
  const draft = downstream.drafts[0];
  const baseRevision = draft ?? downstream.published;
  const base = baseRevision
    ? { revision: baseRevision, content: await readPackageContent(downStore, packageName, baseRevision.commit) }
    : undefined;

  const readUpstream = (commit: string) => upstream.source.read(upstream.packageName, commit);
  const baseLock = base ? upstreamLockOf(base.content.files) : undefined;
  const lockCommit = baseLock?.commit;
  const lockTree = lockCommit
    ? await upstream.source.packageTree(upstream.packageName, lockCommit).catch(() => undefined)
    : undefined;
  const lock = baseLock ? { ...baseLock, current: lockTree === upstream.tree } : undefined;
  const upgradeDue = !base || !lock?.current;
  const updated = upgradeDue ? await readUpstream(upstream.commit) : undefined;
  const original =
    base && upgradeDue
      ? lockTree
        ? await readUpstream(lockCommit!)
        : { files: new Map(), modes: new Map() }
      : undefined;

  const injection = await observeInjectionSources(deps.objects, namespace, [base?.content.files, updated?.files]);
  // What only a variant new to its downstream package can meet: another variant already there, and
  // its own revisions of the package it named before (a changed spec.downstream.package). A variant
  // that owns a revision of the package has passed both checks; the hot path pays for neither.
  const ownsPackage = downstream.drafts.length > 0 || downstream.ownedPublished.length > 0;
  const elsewhere =
    !ownsPackage && owner.uid
      ? (await downStore.revisionsOwnedBy(owner.uid)).filter(
          (r) => r.packagePath !== downStore.packagePath(packageName),
        )
      : [];
  const branchMoved =
    spec.publishPolicy === 'Automatic' && draft?.base
      ? await branchMovedPackage(downStore, packageName, draft.base)
      : false;
  const tip = base ? undefined : await downStore.ref(`refs/heads/${downStore.branch}`);
  const fileInTheWay = tip ? await downStore.fileInTheWay(tip, packageName) : undefined;
  const rivals = ownsPackage ? [] : await rivalVariants(deps.objects, pv, spec);
  const publishedLock =
    downstream.published && downstream.published === baseRevision
      ? lock
      : await publishedLockOf(downStore, packageName, downstream.published, upstream);
  const upstreamHistory = await observeUpstreamHistory(upstream, upstreamRevisions, publishedLock, lock);
  if (publishedLock) upstreamHistory.published = publishedLock;
  const publishedCurrent = publishedLock?.current ?? false;
  return {
    pv,
    key,
    spec,
    owner,
    downRepo,
    ...(upRepo ? { upRepo } : {}),
    downStore,
    packageName,
    packagePath: downStore.packagePath(packageName),
    upstream,
    downstream,
    ...(base ? { base } : {}),
    ...(lock ? { lock } : {}),
    ...(updated ? { updated } : {}),
    ...(original ? { original } : {}),
    injection,
    elsewhere,
    branchMoved,
    publishedCurrent,
    upstreamHistory,
    ...(fileInTheWay ? { fileInTheWay } : {}),
    rivals,
  };
}

/** Variants created before `pv` (then by name) whose downstream is the same package of the same Repository. */
async function rivalVariants(
  objects: ObjectStore,
  pv: PackageVariant,
  spec: DefaultedPackageVariantSpec,
): Promise<string[]> {
  const order = (v: PackageVariant) => `${v.metadata?.creationTimestamp ?? ''}\0${v.metadata?.name ?? ''}`;
  const mine = order(pv);
  const rival = (other: PackageVariant) =>
    other.metadata?.uid !== pv.metadata?.uid &&
    !other.metadata?.deletionTimestamp &&
    other.spec?.downstream?.repo === spec.downstream?.repo &&
    other.spec?.downstream?.package === spec.downstream?.package &&
    order(other) < mine;
  return (await objects.list('PackageVariant', pv.metadata?.namespace ?? 'default', undefined, rival)).map(
    (other) => other.metadata!.name!,
  );
}

async function repository(objects: ObjectStore, namespace: string, name: string, field: string): Promise<Repository> {
  const repo = await objects.get('Repository', { namespace, name });
  if (!repo) throw new TerminalError('RepositoryNotFound', `Repository ${namespace}/${name} (${field}) not found`);
  const problems = validateRepository(repo);
  if (problems.length) {
    throw new TerminalError('InvalidRepository', `Repository ${namespace}/${name}: ${describeFieldErrors(problems)}`);
  }
  return repo;
}

/** The upstream commit a downstream package's Kptfile is locked to. */
export function lockOf(files: PackageFiles): string | undefined {
  return upstreamLockOf(files)?.commit;
}

/** The upstream commit (and ref) a downstream package's Kptfile is locked to. */
export function upstreamLockOf(files: PackageFiles): { commit: string; ref?: string } | undefined {
  const kptfile = files.get(KPTFILE);
  if (!kptfile) return undefined;
  try {
    const git = readKptfile(kptfile).upstreamLock?.git;
    if (!git?.commit) return undefined;
    return { commit: git.commit, ...(git.ref ? { ref: git.ref } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * Lists the objects every injection point of the inputs may select. A merge result's injection
 * points are among those of its inputs, so the mutation step finds what it needs here.
 */
async function observeInjectionSources(
  objects: ObjectStore,
  namespace: string,
  inputs: ReadonlyArray<PackageFiles | undefined>,
): Promise<Map<string, InjectionSource>> {
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const files of inputs) {
    if (!files) continue;
    for (const point of likelyInjectionPoints(files)) {
      if (point.apiVersion && point.kind) kinds.set(`${point.apiVersion}/${point.kind}`, point);
    }
  }
  const sources = new Map<string, InjectionSource>();
  await Promise.all(
    [...kinds].map(async ([id, { apiVersion, kind }]) => {
      try {
        sources.set(id, { objects: await objects.listObjects({ apiVersion, kind }, namespace) });
      } catch (error) {
        sources.set(id, { error: error instanceof Error ? error.message : String(error) });
      }
    }),
  );
  return sources;
}

/** Whether the package on the deployment branch differs from the package at `base` (where a draft started). */
async function branchMovedPackage(store: GitStore, packageName: string, base: string): Promise<boolean> {
  const tip = await store.ref(`refs/heads/${store.branch}`);
  if (!tip || tip === base) return false;
  const [now, then] = await Promise.all([store.packageTree(tip, packageName), store.packageTree(base, packageName)]);
  return now !== then;
}

/** The upstream lock of the latest published downstream revision, and whether it carries the upstream package tree of `upstream`. */
async function publishedLockOf(
  store: GitStore,
  packageName: string,
  published: PackageRevision | undefined,
  upstream: ResolvedUpstream,
): Promise<UpstreamHistory['published']> {
  if (!published) return undefined;
  const lock = upstreamLockOf(await store.readPackage({ packageName, commit: published.commit }));
  if (!lock) return undefined;
  const tree = await upstream.source.packageTree(upstream.packageName, lock.commit).catch(() => undefined);
  return { ...lock, current: tree === upstream.tree };
}

/**
 * The upstream's published revisions (from refs) and the commit times `behindSince` needs: of the
 * first revision after each lock that is not current (none on an up-to-date pass).
 */
async function observeUpstreamHistory(
  upstream: ResolvedUpstream,
  revisions: TrackedRevision[],
  ...locks: Array<{ commit: string; current: boolean } | undefined>
): Promise<UpstreamHistory> {
  const { source } = upstream;
  const times = new Map<string, string>();
  for (const lock of locks) {
    if (!lock || lock.current) continue;
    const first = behindOf(upstream, revisions, lock).first;
    if (times.has(first)) continue;
    const time = await source.commitTime?.(first).catch(() => undefined);
    if (time) times.set(first, time);
  }
  return { revisions, times };
}
