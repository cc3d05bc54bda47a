// The PackageVariant reconciler. From the variant, its Repositories and what git holds it decides
// the one draft the downstream needs — a clone, an upgrade (three-way merge of the upstream change
// with the downstream's customizations) or an edit (changed mutations) — writes it through the push
// coalescer, and reports status. Every decision is made from git state, so a restarted controller
// finds its drafts again and never makes a second one.
import { basename } from 'node:path';
import {
  defaultPackageVariantSpec,
  describeFieldErrors,
  PACKAGE_VARIANT_FINALIZER,
  validatePackageVariant,
  validateRepository,
  type DefaultedPackageVariantSpec,
  type DownstreamTarget,
  type MergeConflict,
  type PackageVariant,
  type Repository,
} from '../../api/v1alpha1/index.ts';
import type { BatchOp, BatchResult } from '../../lib/git/batch.ts';
import type { RecordedConflict } from '../../lib/git/message.ts';
import type { GitStore, PackageRevision } from '../../lib/git/store.ts';
import { Kptfile } from '../../lib/kpt/kptfile.ts';
import { KPTFILE, type PackageFiles, type PackageModes } from '../../lib/kpt/package.ts';
import { mergeModes } from '../../lib/merge/modes.ts';
import { MergeConflictError, type Conflict, type ConflictPolicy } from '../../lib/merge/index.ts';
import { clonePackage, upgradePackage } from '../../lib/merge/upgrade.ts';
import type { ReconcileResult } from '../../lib/kube/workqueue.ts';
import type { VariantMetrics } from '../../lib/metrics/metrics.ts';
import { keyString, parseKey, type ObjectStore } from '../store.ts';
import type { UpstreamWatch } from '../upstream/index.ts';
import { classifyDownstream, isOwnedBy, ownerOf, revisionName } from './downstream.ts';
import { locationOf, type GitStores } from './git-stores.ts';
import { applyMutations, MutationError, packagesDiffer } from './mutations.ts';
import {
  approveOp,
  heldDraft,
  heldMessage,
  MANUAL_POLICY,
  publishDecision,
  publishedTarget,
  UPGRADE_HELD_REASON,
} from './publish.ts';
import type { PushCoalescer } from './push-coalescer.ts';
import { nextStatus, statusChanged, type Outcome } from './status.ts';
import { resolveUpstream, upstreamLocation, UpstreamNotFoundError, type ResolvedUpstream } from './upstream.ts';

/** A problem a person must fix (spec, missing object, ownership); no retry until something changes. */
export class StalledError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'StalledError';
    this.reason = reason;
  }
}

/** What the controller learns about a variant that the watches need. */
export interface Observation {
  upstream?: UpstreamWatch;
  /** Namespaced names of the Repositories the variant uses. */
  repositories: string[];
  /** apiVersion/kind of the injection points found in its downstream. */
  injectionKinds: string[];
}

export interface ReconcilerOptions {
  objects: ObjectStore;
  stores: GitStores;
  pushes: PushCoalescer;
  conflictPolicy?: ConflictPolicy;
  /** Called after each reconcile of a live variant, and with `undefined` when it is gone. */
  observe?(key: string, observation: Observation | undefined): void;
  /** Called when a variant has written an upstream revision (for the watcher's change detection). */
  upstreamSeen?(watch: UpstreamWatch, revision: { commit: string; tree: string }): void;
  /** Drafts, publishes, conflicts and each variant's state, for the metrics (controller mode). */
  metrics?: VariantMetrics;
  /** Called after the variant's own push to its downstream package (so the watcher does not take it for news). */
  downstreamWritten?(store: GitStore, packageName: string): Promise<void>;
  now?: () => string;
}

type DraftTask = 'clone' | 'upgrade' | 'edit';

interface Desired {
  files: PackageFiles;
  /** Executable bits, symlinks and gitlinks, merged like the files. */
  modes: PackageModes;
  task: DraftTask;
  conflicts: Conflict[];
  /** The upstream commit the files carry (their Kptfile's upstreamLock). */
  upstreamCommit: string;
  /** The upstream commit the base (draft or published revision) carries, from its upstreamLock. */
  baseUpstreamCommit?: string;
}

export class PackageVariantReconciler {
  private readonly options: ReconcilerOptions;

  constructor(options: ReconcilerOptions) {
    this.options = options;
  }

  /** Reconciles one variant, `namespace/name`. Throws to be retried with backoff. */
  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { objects } = this.options;
    let pv = await objects.getPackageVariant(parseKey(key));
    if (!pv) {
      this.options.observe?.(key, undefined);
      this.options.metrics?.variantGone(key);
      return;
    }
    if (pv.metadata?.deletionTimestamp) return this.finalize(pv);
    const finalizers = pv.metadata?.finalizers ?? [];
    if (!finalizers.includes(PACKAGE_VARIANT_FINALIZER)) {
      pv = await objects.setPackageVariantFinalizers(pv, [...finalizers, PACKAGE_VARIANT_FINALIZER]);
    }
    const invalid = validatePackageVariant(pv);
    if (invalid.length) {
      await this.writeStatus(pv, { kind: 'stalled', reason: 'ValidationError', message: describeFieldErrors(invalid) });
      return;
    }
    try {
      const { targets, held, note } = await this.ensureDownstream(pv, defaultPackageVariantSpec(pv.spec!));
      await this.writeStatus(pv, {
        kind: 'ready',
        reason: held ? UPGRADE_HELD_REASON : 'NoErrors',
        message: held ?? note ?? 'successfully ensured downstream package variant',
        targets,
      });
    } catch (error) {
      if (error instanceof StalledError) {
        await this.writeStatus(pv, { kind: 'stalled', reason: error.reason, message: error.message });
        return;
      }
      const reason = error instanceof MergeConflictError ? 'MergeConflicts' : 'Error';
      await this.writeStatus(pv, { kind: 'error', reason, message: errorMessage(error) });
      this.options.objects.recordEvent(pv, {
        type: 'Warning',
        reason: 'ReconcileFailed',
        message: errorMessage(error),
      });
      throw error;
    }
  }

  private async repository(pv: PackageVariant, name: string, field: string): Promise<Repository> {
    const namespace = pv.metadata?.namespace ?? 'default';
    const repo = await this.options.objects.getRepository({ namespace, name });
    if (!repo) throw new StalledError('RepositoryNotFound', `Repository ${namespace}/${name} (${field}) not found`);
    const problems = validateRepository(repo);
    if (problems.length) {
      throw new StalledError('InvalidRepository', `Repository ${namespace}/${name}: ${describeFieldErrors(problems)}`);
    }
    return repo;
  }

  private async ensureDownstream(
    pv: PackageVariant,
    spec: DefaultedPackageVariantSpec,
  ): Promise<{ targets: DownstreamTarget[]; held?: string; note?: string }> {
    const { stores } = this.options;
    const key = keyString({ namespace: pv.metadata!.namespace ?? 'default', name: pv.metadata!.name! });
    const downRepo = await this.repository(pv, spec.downstream!.repo!, 'spec.downstream.repo');
    const upRepo = spec.upstream!.git
      ? undefined
      : await this.repository(pv, spec.upstream!.repo!, 'spec.upstream.repo');
    const [downStore, upStore] = await Promise.all([
      stores.get(locationOf(downRepo)),
      stores.get(upstreamLocation(pv, upRepo)),
    ]);
    await Promise.all([stores.ensureRefreshed(downStore), stores.ensureRefreshed(upStore)]);

    const observation: Observation = {
      repositories: [downRepo, upRepo].filter((r) => r !== undefined).map((r) => r.metadata!.name!),
      injectionKinds: [],
    };
    let upstream: ResolvedUpstream;
    try {
      upstream = await resolveUpstream(pv, upStore);
    } catch (error) {
      if (error instanceof UpstreamNotFoundError) throw new StalledError('UpstreamNotFound', error.message);
      throw error;
    } finally {
      this.options.observe?.(key, observation);
    }
    observation.upstream = upstream.watch;
    this.options.metrics?.upstreamResolved(upstream.commit);

    const packageName = spec.downstream!.package!;
    const owner = ownerOf(pv);
    const adopt = spec.adoptionPolicy === 'adoptExisting';
    const revisions = await downStore.listRevisions({ packageName });
    const state = classifyDownstream(revisions, owner, adopt);
    // Whoever published the latest revision, the package is ours once any revision of it was.
    if (state.published && !adopt && state.ownedPublished.length === 0 && state.drafts.length === 0) {
      throw new StalledError(
        'DownstreamNotOwned',
        `package ${packageName} in Repository ${downRepo.metadata!.name} was not created by this PackageVariant; ` +
          'set spec.adoptionPolicy to adoptExisting to take it over',
      );
    }
    const [draft, ...extraDrafts] = state.drafts;
    const base = draft ?? state.published;
    const local = base ? await downStore.readPackage({ packageName, commit: base.commit }) : undefined;
    const localModes = base ? await downStore.readPackageModes({ packageName, commit: base.commit }) : new Map();
    const desired = await this.desiredContent(spec, upstream, downRepo, local, localModes);
    // Conflicts stay with the draft that took them in until it is published: recomputing or editing
    // it does not make the overridden local values any less lost.
    if (draft?.conflicts?.length) desired.conflicts = unionConflicts(draft.conflicts, desired.conflicts);
    const mutated = await applyMutations(
      desired.files,
      { name: pv.metadata!.name!, spec },
      {
        list: (apiVersion, kind) => {
          observation.injectionKinds.push(`${apiVersion}/${kind}`);
          return this.options.objects.listObjects({ apiVersion, kind }, pv.metadata!.namespace ?? 'default');
        },
      },
    );
    this.options.observe?.(key, observation);

    const ops: BatchOp[] = [];
    const body = conflictReport(desired.conflicts);
    const task = this.task(desired.task, upstream, downRepo, packageName, base);
    // An edit of the base itself changed exactly when the mutations did; otherwise compare.
    const modes = modesOf(mutated.files, desired.modes);
    const changed =
      !local ||
      (desired.files === local ? mutated.changed : packagesDiffer(local, mutated.files)) ||
      modesDiffer(localModes, modes);
    // A PackageVariantSet rollout may hold this variant: no new upstream revision comes in for now.
    const hold = changed ? heldDraft(pv, desired.task) : undefined;
    if (hold && desired.task !== 'edit') {
      const targets = this.targets(pv, downRepo, downStore, packageName, {
        draft: draft ?? undefined,
        published: state.published,
        desired,
        baseUpstreamCommit: desired.baseUpstreamCommit,
      });
      this.reportState(key, targets[0], true, upstream.commit);
      return { targets, held: heldMessage(desired.task, hold) };
    }
    let written: 'created' | 'updated' | undefined;
    if (draft && draft.lifecycle === 'Draft' && changed) {
      ops.push({
        kind: 'updateDraft',
        packageName,
        workspace: draft.workspace,
        files: mutated.files,
        modes,
        task,
        owner,
        body,
        conflicts: desired.conflicts,
        expectedCommit: draft.commit,
      });
      written = 'updated';
    } else if (!draft && changed) {
      ops.push({
        kind: 'createDraft',
        packageName,
        workspace: state.nextWorkspace,
        files: mutated.files,
        modes,
        task,
        owner,
        body,
        conflicts: desired.conflicts,
      });
      written = 'created';
    }
    // Two drafts for one variant can only come from a race outside our control: the oldest is the
    // variant's; a younger one is deleted only when the controller wrote every commit on it.
    const keptDrafts: PackageRevision[] = [];
    for (const extra of extraDrafts) {
      if (extra.lifecycle === 'Draft' && isOwnedBy(extra, owner) && !extra.foreignCommits?.length) {
        ops.push({ kind: 'deleteDraft', packageName, workspace: extra.workspace, expectedCommit: extra.commit });
      } else keptDrafts.push(extra);
    }
    const elsewhere = await this.cleanupElsewhere(pv, spec, downStore, owner);
    ops.push(...elsewhere.ops);
    const results = ops.length ? await this.options.pushes.submit(downStore, ops) : [];
    this.checkResults(downStore, results);
    for (const kept of [...keptDrafts, ...elsewhere.kept]) this.reportKept(pv, downRepo, kept);

    const writtenResult = written ? results[0] : undefined;
    if (writtenResult) {
      this.options.upstreamSeen?.(upstream.watch, { commit: upstream.commit, tree: upstream.tree });
      this.options.metrics?.draftWritten(desired.task, written!, upstream.commit, desired.conflicts.length);
      const conflictNote = desired.conflicts.length ? ` with ${desired.conflicts.length} merge conflict(s)` : '';
      this.options.objects.recordEvent(pv, {
        type: 'Normal',
        reason: written === 'created' ? 'DraftCreated' : 'DraftUpdated',
        message: `${desired.task} draft ${writtenResult.workspace} of ${packageName} in ${downRepo.metadata!.name}${conflictNote}`,
      });
      if (desired.conflicts.length) {
        this.options.objects.recordEvent(pv, {
          type: 'Warning',
          reason: 'MergeConflicts',
          message: body!.slice(0, 1024),
        });
      }
    }
    const targets = this.targets(pv, downRepo, downStore, packageName, {
      draft: draft ?? undefined,
      published: state.published,
      written: writtenResult,
      desired,
      baseUpstreamCommit: desired.baseUpstreamCommit,
    });
    const draftFiles = writtenResult ? mutated.files : draft && !changed ? local : undefined;
    const publishing = await this.publish(pv, downStore, packageName, targets[0], draftFiles, {
      // A draft written now carries the person's commits below ours, which the merge took in.
      foreignCommits: writtenResult ? 0 : (draft?.foreignCommits?.length ?? 0),
      base: written === 'created' ? undefined : draft?.base,
      announce: Boolean(writtenResult),
    });
    const published = publishing.targets;
    if (ops.length || published) await this.options.downstreamWritten?.(downStore, packageName);
    const final = (published ?? targets)[0];
    if (this.options.metrics) {
      const outdated =
        final?.lifecycle === 'Published'
          ? false
          : desired.task !== 'edit' ||
            !(await this.publishedIsCurrent(downStore, packageName, state.published, upstream));
      this.reportState(key, final, outdated, upstream.commit);
    }
    const keptTargets = keptDrafts.map((d) => revisionTarget(downRepo.metadata!.name!, packageName, d));
    return {
      targets: [...(published ?? targets), ...keptTargets],
      ...(publishing.withheld ? { note: publishing.withheld } : {}),
    };
  }

  /**
   * Drafts and published revisions the variant owns of another package in its downstream repository
   * (its `spec.downstream.package` changed): with `deletionPolicy: delete` the drafts are deleted
   * and the published revisions proposed for deletion, as Porch does; drafts carrying commits the
   * controller did not write are kept.
   */
  private async cleanupElsewhere(
    pv: PackageVariant,
    spec: DefaultedPackageVariantSpec,
    store: GitStore,
    owner: ReturnType<typeof ownerOf>,
  ): Promise<{ ops: BatchOp[]; kept: PackageRevision[] }> {
    if (spec.deletionPolicy !== 'delete' || !owner.uid) return { ops: [], kept: [] };
    const current = store.packagePath(spec.downstream!.package!);
    const ops: BatchOp[] = [];
    const kept: PackageRevision[] = [];
    for (const revision of await store.revisionsOwnedBy(owner.uid)) {
      if (revision.packagePath === current) continue;
      const packageName = revision.packageName;
      if (revision.lifecycle === 'Published') {
        ops.push({ kind: 'proposeDelete', packageName, revision: revision.revision });
      } else if (revision.lifecycle === 'Draft' || revision.lifecycle === 'Proposed') {
        if (revision.foreignCommits?.length) kept.push(revision);
        else
          ops.push({
            kind: 'deleteDraft',
            packageName,
            workspace: revision.workspace,
            expectedCommit: revision.commit,
          });
      }
    }
    return { ops, kept };
  }

  /** A draft the variant owns but leaves alone because someone else committed to it: say so. */
  private reportKept(pv: PackageVariant, downRepo: Repository, draft: PackageRevision): void {
    const count = draft.foreignCommits?.length ?? 0;
    this.options.objects.recordEvent(pv, {
      type: 'Warning',
      reason: 'DraftKept',
      message:
        `draft ${draft.workspace} of ${draft.packageName} in ${downRepo.metadata!.name} is not deleted` +
        (count ? `: it carries ${count} commit(s) the controller did not write` : '') +
        '; publish or delete it by hand',
    });
  }

  /** Whether the latest published downstream revision carries the upstream package tree of `upstream`. */
  private async publishedIsCurrent(
    store: GitStore,
    packageName: string,
    published: PackageRevision | undefined,
    upstream: ResolvedUpstream,
  ): Promise<boolean> {
    if (!published) return false;
    const lock = lockOf(await store.readPackage({ packageName, commit: published.commit }));
    if (!lock) return false;
    const tree = await upstream.store.packageTree(lock.git.commit, upstream.packageName).catch(() => undefined);
    return tree === upstream.tree;
  }

  private reportState(key: string, target: DownstreamTarget | undefined, outdated: boolean, upstreamCommit: string) {
    const draftPending = target?.lifecycle === 'Draft' || target?.lifecycle === 'Proposed';
    this.options.metrics?.variantState(key, {
      outdated,
      draftPending,
      conflicted: draftPending && Boolean(target?.conflicts?.length),
      upstreamCommit,
    });
  }

  /**
   * `spec.publishPolicy: Automatic`: publishes the pending draft when it is clean and ready. The
   * conflicts are the ones git records for the draft, never an earlier status. When the policy is
   * Automatic but the draft is not published, `withheld` says why.
   */
  private async publish(
    pv: PackageVariant,
    store: GitStore,
    packageName: string,
    target: DownstreamTarget | undefined,
    files: PackageFiles | undefined,
    draft: { foreignCommits: number; base?: string; announce: boolean },
  ): Promise<{ targets?: DownstreamTarget[]; withheld?: string }> {
    if (!target?.ref || !files || (target.lifecycle !== 'Draft' && target.lifecycle !== 'Proposed')) return {};
    if (pv.spec?.publishPolicy !== 'Automatic') return {};
    const decision = publishDecision(pv, {
      files,
      conflicts: target.conflicts?.length ?? 0,
      foreignCommits: draft.foreignCommits,
      branchMoved: draft.base ? await branchMovedPackage(store, packageName, draft.base) : false,
    });
    if (!decision.publish) {
      if (decision.reason === MANUAL_POLICY) return {};
      const withheld = `draft ${target.name} is not published automatically: ${decision.reason}`;
      if (draft.announce) {
        this.options.objects.recordEvent(pv, { type: 'Warning', reason: 'PublishWithheld', message: withheld });
      }
      return { withheld };
    }
    const workspace = target.ref.split('/').pop()!;
    const [result] = await this.options.pushes.submit(store, [approveOp(packageName, workspace, target.commit)]);
    this.checkResults(store, result ? [result] : []);
    if (result?.status !== 'created') return {};
    this.options.metrics?.published();
    this.options.objects.recordEvent(pv, {
      type: 'Normal',
      reason: 'DraftPublished',
      message: `published ${packageName} v${result.revision} (publishPolicy Automatic)`,
    });
    return { targets: [publishedTarget(target.name, result, store.packagePath(packageName), target.upstreamCommit)] };
  }

  /** The downstream content before mutations: the base upgraded when the upstream tree moved. */
  private async desiredContent(
    spec: DefaultedPackageVariantSpec,
    upstream: ResolvedUpstream,
    downRepo: Repository,
    local: PackageFiles | undefined,
    localModes: PackageModes,
  ): Promise<Desired> {
    const locator = (commit: string) => ({ packageName: upstream.packageName, commit });
    const read = (commit: string) => upstream.store.readPackage(locator(commit));
    const readModes = (commit: string) => upstream.store.readPackageModes(locator(commit));
    if (!local) {
      const packageName = spec.downstream!.package!;
      const files = clonePackage(await read(upstream.commit), upstream.lock, {
        name: basename(packageName),
        ...(downRepo.spec?.deployment ? { packageContext: { packagePath: packageName } } : {}),
      });
      const cloned = mergeModes(new Map(), await readModes(upstream.commit), new Map(), files);
      return {
        files: cloned.files,
        modes: cloned.modes,
        task: 'clone',
        conflicts: [],
        upstreamCommit: upstream.commit,
      };
    }
    const lock = lockOf(local);
    const lockTree = lock
      ? await upstream.store.packageTree(lock.git.commit, upstream.packageName).catch(() => undefined)
      : undefined;
    const baseUpstreamCommit = lock?.git.commit;
    if (lock && lockTree === upstream.tree) {
      return {
        files: local,
        modes: localModes,
        task: 'edit',
        conflicts: [],
        upstreamCommit: lock.git.commit,
        baseUpstreamCommit: lock.git.commit,
      };
    }
    const original: PackageFiles = lockTree ? await read(lock!.git.commit) : new Map();
    const originalModes: PackageModes = lockTree ? await readModes(lock!.git.commit) : new Map();
    const conflicts = this.options.conflictPolicy ?? 'upstream-wins';
    const result = upgradePackage({ original, updated: await read(upstream.commit), local }, upstream.lock, {
      conflicts,
    });
    const merged = mergeModes(originalModes, await readModes(upstream.commit), localModes, result.files, {
      conflicts,
    });
    return {
      files: merged.files,
      modes: merged.modes,
      task: 'upgrade',
      conflicts: [...result.conflicts, ...merged.conflicts],
      upstreamCommit: upstream.commit,
      ...(baseUpstreamCommit ? { baseUpstreamCommit } : {}),
    };
  }

  /** The Porch task recorded in the draft commit's `kpt:` annotation. */
  private task(
    kind: DraftTask,
    upstream: ResolvedUpstream,
    downRepo: Repository,
    packageName: string,
    base?: PackageRevision,
  ) {
    const upstreamName = `${upstream.watch.repo.split('/').pop()}.${upstream.packageName.replaceAll('/', '.')}.${upstream.revision ? `v${upstream.revision}` : 'main'}`;
    const baseName = base ? revisionName(downRepo.metadata!.name!, packageName, base.workspace) : undefined;
    switch (kind) {
      case 'clone':
        return { type: 'clone', clone: { upstreamRef: { upstreamRef: { name: upstreamName } } } };
      case 'edit':
        return { type: 'edit', edit: { sourceRef: { name: baseName } } };
      case 'upgrade':
        return {
          type: 'upgrade',
          upgrade: {
            newUpstreamRef: { name: upstreamName },
            localPackageRevisionRef: { name: baseName },
            strategy: 'resource-merge',
          },
        };
    }
  }

  private checkResults(store: GitStore, results: BatchResult[]): void {
    const failed = results.filter((r) => r.status === 'rejected' || r.status === 'already-exists');
    if (!failed.length) return;
    // Someone else moved the refs we planned from: look again with fresh refs.
    this.options.stores.invalidate(store);
    throw new Error(
      `git ${store.url}: ${failed.map((r) => `${r.op} ${r.packageName ?? ''}/${r.workspace ?? ''} ${r.status}${r.message ? `: ${r.message}` : ''}`).join('; ')}`,
    );
  }

  private targets(
    pv: PackageVariant,
    downRepo: Repository,
    store: GitStore,
    packageName: string,
    state: {
      draft?: PackageRevision;
      published?: PackageRevision;
      written?: BatchResult;
      desired: Desired;
      baseUpstreamCommit?: string;
    },
  ): DownstreamTarget[] {
    const repoName = downRepo.metadata!.name!;
    const pkgPath = store.packagePath(packageName);
    const toStatus = (conflicts: Conflict[]): MergeConflict[] => conflicts.map((c) => ({ ...c }));
    if (state.written) {
      const workspace = state.written.workspace!;
      return [
        {
          name: revisionName(repoName, packageName, workspace),
          lifecycle: 'Draft',
          ref: `drafts/${pkgPath}/${workspace}`,
          ...(state.written.commit ? { commit: state.written.commit } : {}),
          upstreamCommit: state.desired.upstreamCommit,
          ...(state.desired.conflicts.length ? { conflicts: toStatus(state.desired.conflicts) } : {}),
        },
      ];
    }
    const revision = state.draft ?? state.published;
    if (!revision) return [];
    return [
      {
        ...revisionTarget(repoName, packageName, revision),
        ...(state.baseUpstreamCommit ? { upstreamCommit: state.baseUpstreamCommit } : {}),
      },
    ];
  }

  /** Deletion: drafts go, published revisions are proposed for deletion (or all is left, `orphan`). */
  private async finalize(pv: PackageVariant): Promise<void> {
    const finalizers = pv.metadata?.finalizers ?? [];
    const key = keyString({ namespace: pv.metadata!.namespace ?? 'default', name: pv.metadata!.name! });
    if (!finalizers.includes(PACKAGE_VARIANT_FINALIZER)) return;
    const spec = defaultPackageVariantSpec(pv.spec ?? {});
    const repoName = spec.downstream?.repo;
    const repo = repoName
      ? await this.options.objects.getRepository({ namespace: pv.metadata!.namespace ?? 'default', name: repoName })
      : undefined;
    if (spec.deletionPolicy === 'delete' && repo && spec.downstream?.package) {
      const store = await this.options.stores.get(locationOf(repo));
      await this.options.stores.ensureRefreshed(store);
      const owner = ownerOf(pv);
      const packageName = spec.downstream.package;
      const ops: BatchOp[] = [];
      for (const revision of await store.listRevisions({ packageName })) {
        if (!isOwnedBy(revision, owner)) continue;
        if (revision.lifecycle === 'Draft' || revision.lifecycle === 'Proposed') {
          if (revision.foreignCommits?.length) {
            this.reportKept(pv, repo, revision);
            continue;
          }
          ops.push({
            kind: 'deleteDraft',
            packageName,
            workspace: revision.workspace,
            expectedCommit: revision.commit,
          });
        } else if (revision.lifecycle === 'Published') {
          ops.push({ kind: 'proposeDelete', packageName, revision: revision.revision });
        }
      }
      const results = ops.length ? await this.options.pushes.submit(store, ops) : [];
      const failed = results.filter((r) => !['deleted', 'created', 'not-found', 'already-exists'].includes(r.status));
      if (failed.length) {
        this.options.stores.invalidate(store);
        throw new Error(
          `cleanup of ${packageName} in ${repoName} incomplete: ${failed.map((r) => `${r.op} ${r.status}`).join(', ')}`,
        );
      }
    } else if (spec.deletionPolicy === 'delete' && repoName && !repo) {
      this.options.objects.recordEvent(pv, {
        type: 'Warning',
        reason: 'Orphaned',
        message: `Repository ${repoName} is gone; the downstream revisions were left in place`,
      });
    }
    await this.options.objects.setPackageVariantFinalizers(
      pv,
      finalizers.filter((f) => f !== PACKAGE_VARIANT_FINALIZER),
    );
    this.options.observe?.(key, undefined);
    this.options.metrics?.variantGone(key);
  }

  private async writeStatus(pv: PackageVariant, outcome: Outcome): Promise<void> {
    const status = nextStatus(pv, outcome, this.options.now?.());
    if (statusChanged(pv.status, status)) await this.options.objects.writePackageVariantStatus(pv, status);
  }
}

function lockOf(files: PackageFiles) {
  const kptfile = files.get(KPTFILE);
  if (!kptfile) return undefined;
  try {
    return Kptfile.parse(kptfile).upstreamLock;
  } catch {
    return undefined;
  }
}

/** The modes that apply to `files` after the mutations (an executable bit needs its file). */
function modesOf(files: PackageFiles, modes: PackageModes): PackageModes {
  return new Map([...modes].filter(([path, entry]) => entry.kind !== 'executable' || files.has(path)));
}

function modesDiffer(before: PackageModes, after: PackageModes): boolean {
  if (before.size !== after.size) return true;
  for (const [path, entry] of before) {
    const next = after.get(path);
    if (!next || next.kind !== entry.kind) return true;
    if (entry.kind === 'symlink' && !(next as typeof entry).target.equals(entry.target)) return true;
    if (entry.kind === 'gitlink' && (next as typeof entry).commit !== entry.commit) return true;
  }
  return false;
}

/** Whether the package on the deployment branch differs from the package at `base` (where a draft started). */
async function branchMovedPackage(store: GitStore, packageName: string, base: string): Promise<boolean> {
  const tip = (await store.refs()).get(`refs/heads/${store.branch}`);
  if (!tip || tip === base) return false;
  const [now, then] = await Promise.all([store.packageTree(tip, packageName), store.packageTree(base, packageName)]);
  return now !== then;
}

/** A status target for a revision as git holds it (conflicts as its commits record them). */
function revisionTarget(repoName: string, packageName: string, revision: PackageRevision): DownstreamTarget {
  return {
    name: revisionName(repoName, packageName, revision.workspace),
    lifecycle: revision.lifecycle,
    ref: revision.ref.replace(/^refs\/(heads|tags)\//, ''),
    commit: revision.commit,
    ...(revision.conflicts?.length ? { conflicts: revision.conflicts.map(toMergeConflict) } : {}),
  };
}

function toMergeConflict(c: RecordedConflict): MergeConflict {
  return { ...c, winner: c.winner === 'local' ? 'local' : 'upstream' };
}

/** `earlier` followed by the conflicts of `later` not already listed (same file, resource and field). */
function unionConflicts(earlier: readonly RecordedConflict[], later: readonly Conflict[]): Conflict[] {
  const key = (c: RecordedConflict) => `${c.file}\0${c.resource}\0${c.field}`;
  const known = new Set(later.map(key));
  return [...earlier.filter((c) => !known.has(key(c))).map(toMergeConflict), ...later];
}

/** The conflict report in the draft's commit message: one line per field. */
export function conflictReport(conflicts: readonly Conflict[]): string | undefined {
  if (!conflicts.length) return undefined;
  const show = (v: string | undefined) => (v === undefined ? '(absent)' : JSON.stringify(v));
  return [
    `Merge conflicts (${conflicts.length}): fields that both the upstream and this downstream changed`,
    ...conflicts.map(
      (c) =>
        `- ${c.file} ${c.resource} ${c.field}: original ${show(c.original)}, upstream ${show(c.updated)}, local ${show(c.local)} -> ${c.winner} wins`,
    ),
  ].join('\n');
}

function errorMessage(error: unknown): string {
  if (error instanceof MutationError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
