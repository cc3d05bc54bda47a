// A batch of writes to one repository: drafts created or updated, lifecycle transitions, deletions.
// `push()` writes all new commits with one fast-import, then pushes the refs in atomic waves of at
// most `gitLimits().maxPushRefs` ref updates (one wave for most batches), in which each ref carries a
// lease. When a wave is refused, the waves pushed before it stand; the batch refreshes from the
// remote and plans the rest again from what is there now: a draft someone else created is reported
// `already-exists`, a ref someone else moved is `rejected`, an approval is rebuilt on the new branch
// head.
import type { Owner } from './message.ts';
import {
  assertOwner,
  formatCommitMessage,
  type KptAnnotation,
  type Identity,
  type RecordedConflict,
} from './message.ts';
import { gitLimits } from './limits.ts';
import { atomicPush, type RefUpdate, type RefPushStatus } from './push.ts';
import { branchRef, deletionProposedRef, draftRef, proposedRef, publishedTag, type RefIndex } from './refs.ts';
import { assertObjectId, assertOneLine, assertPackageEntries, assertWorkspaceName, GitInputError } from './validate.ts';
import { writeCommits, type CommitSpec, type PackageModes } from './writer.ts';
import type { RefMap, RepoCache } from './cache.ts';

/** What a batch needs of its repository (GitStore); declared here so that batch.ts does not import store.ts. */
export interface BatchRepository {
  readonly url: string;
  readonly branch: string;
  readonly author: Identity;
  readonly committer: Identity;
  readonly maxPushAttempts: number;
  readonly dryRun: boolean;
  readonly previewed: RefUpdate[];
  readonly cache: RepoCache;
  packagePath(packageName: string): string;
  refs(): Promise<RefMap>;
  commit(oid: string): Promise<{ oid: string }>;
  packageTree(commitOid: string, packageName: string): Promise<string | undefined>;
  nestingConflict(commitOid: string, packageName: string): Promise<string | undefined>;
  fileInTheWay(commitOid: string, packageName: string): Promise<string | undefined>;
  draftHistory(head: string, pkgPath: string, workspace: string): Promise<{ owner?: Owner }>;
}

/** Package contents: package-relative path (forward slashes) → bytes (same shape as lib/kpt's PackageFiles). */
export type PackageFileMap = Map<string, Buffer>;

export interface DraftContent {
  /** Package name relative to the repository directory. */
  packageName: string;
  workspace: string;
  /** The whole package (replaces the package directory). Must contain a Kptfile. */
  files: PackageFileMap;
  /** Executable bits of `files`, symlinks and gitlinks (see GitStore.readTreeModes); default none. */
  modes?: PackageModes;
  /** First line of the commit message; default from the task type, as Porch words it. */
  title?: string;
  /** Free text between the title and the trailers (e.g. a conflict report). */
  body?: string;
  /** Porch task recorded in the `kpt:` annotation (e.g. `{type: 'upgrade', upgrade: {...}}`). */
  task?: { type: string; [key: string]: unknown };
  /** The PackageVariant that owns the draft. */
  owner?: Owner;
  /** Merge conflicts the content carries (recorded in a trailer, so they are known from git alone). */
  conflicts?: readonly RecordedConflict[];
  author?: Identity;
}

export interface UpdateDraftContent extends DraftContent {
  /** The draft head this update builds on; default: the head when the batch is first planned. */
  expectedCommit?: string;
}

export interface RevisionRef {
  packageName: string;
  workspace: string;
  /** The head the caller saw; the operation is rejected when the ref has moved since. */
  expectedCommit?: string;
}

export interface PublishedRef {
  packageName: string;
  revision: number;
}

export type BatchOp =
  | { kind: 'createBranch' }
  | ({ kind: 'createDraft' } & DraftContent)
  | ({ kind: 'updateDraft' } & UpdateDraftContent)
  | ({ kind: 'propose' } & RevisionRef)
  | ({ kind: 'reject' } & RevisionRef)
  | ({ kind: 'approve' } & RevisionRef & { title?: string })
  | ({ kind: 'deleteDraft' } & RevisionRef)
  | ({ kind: 'proposeDelete' } & PublishedRef)
  | ({ kind: 'undoProposeDelete' } & PublishedRef)
  | ({ kind: 'deletePublished' } & PublishedRef);

export type BatchStatus = 'created' | 'updated' | 'deleted' | 'already-exists' | 'not-found' | 'rejected';

export interface BatchResult {
  op: BatchOp['kind'];
  packageName?: string;
  workspace?: string;
  /** Published revision number (approve, proposeDelete, ...). */
  revision?: number;
  status: BatchStatus;
  /** The commit the main ref of the operation now points at. */
  commit?: string;
  /** Refs changed by the operation (full names). */
  refs: string[];
  message?: string;
}

/** Commit titles Porch writes for draft commits, by task type. */
export function porchCommitTitle(taskType: string | undefined): string {
  switch (taskType) {
    case undefined:
    case '':
      return 'Intermediate commit';
    case 'init':
      return 'Creating new empty revision';
    case 'clone':
      return 'Creating new revision by cloning';
    case 'edit':
      return 'Creating new revision by copying previous revision';
    case 'upgrade':
      return 'Upgrading revision';
    case 'render':
      return 'Rendering package';
    default:
      return `Intermediate commit: ${taskType}`;
  }
}

/** One operation planned against a set of refs. */
type Plan =
  { final: BatchResult } | { updates: RefUpdate[]; result: Omit<BatchResult, 'commit'> & { commit?: string } };

interface PlanContext {
  refs: RefMap;
  specs: CommitSpec[];
  /** Current tip of the deployment branch in this plan (object id or `:<mark>`), undefined if absent. */
  branchTip: string | undefined;
  /** `refs`, indexed by package. */
  index: RefIndex;
  /** Revisions this plan has given out, by package path (above those in `refs`). */
  assignedRevision: Map<string, number>;
}

const MARK = /^:(\d+)$/;

export class GitBatch {
  private readonly store: BatchRepository;
  private readonly ops: BatchOp[] = [];
  /** Leases fixed at the first plan, so that later attempts never overwrite what others pushed. */
  private readonly leases = new Map<number, string>();
  private pushed = false;

  constructor(store: BatchRepository) {
    this.store = store;
  }

  get size(): number {
    return this.ops.length;
  }

  createBranch(): this {
    return this.add({ kind: 'createBranch' });
  }
  /** A new draft `drafts/<pkg>/<ws>`; its first commit's parent is the deployment branch head. */
  createDraft(content: DraftContent): this {
    this.checkContent(content);
    return this.add({ kind: 'createDraft', ...content });
  }
  /** A new commit on an existing draft (replaces the package directory). */
  updateDraft(content: UpdateDraftContent): this {
    this.checkContent(content);
    if (content.expectedCommit) assertObjectId(content.expectedCommit);
    return this.add({ kind: 'updateDraft', ...content });
  }
  propose(ref: RevisionRef): this {
    return this.add({ kind: 'propose', ...this.checkRevisionRef(ref) });
  }
  reject(ref: RevisionRef): this {
    return this.add({ kind: 'reject', ...this.checkRevisionRef(ref) });
  }
  /** Publishes a proposed (or draft) revision: merge commit on the branch, tag v<N>, branch deleted. */
  approve(ref: RevisionRef & { title?: string }): this {
    if (ref.title) assertOneLine('commit title', ref.title);
    return this.add({ kind: 'approve', ...this.checkRevisionRef(ref) });
  }
  /** Deletes a draft or proposed revision (its branch). */
  deleteDraft(ref: RevisionRef): this {
    return this.add({ kind: 'deleteDraft', ...this.checkRevisionRef(ref) });
  }
  proposeDelete(ref: PublishedRef): this {
    return this.add({ kind: 'proposeDelete', ...this.checkPublishedRef(ref) });
  }
  undoProposeDelete(ref: PublishedRef): this {
    return this.add({ kind: 'undoProposeDelete', ...this.checkPublishedRef(ref) });
  }
  /** Deletes a published revision: its tag and any deletionProposed branch (the content stays on the branch). */
  deletePublished(ref: PublishedRef): this {
    return this.add({ kind: 'deletePublished', ...this.checkPublishedRef(ref) });
  }

  private add(op: BatchOp): this {
    if (this.pushed) throw new Error('this batch has already been pushed');
    this.ops.push(op);
    return this;
  }

  private checkContent(content: DraftContent): void {
    this.store.packagePath(content.packageName);
    assertWorkspaceName(content.workspace);
    if (!content.files.has('Kptfile')) {
      throw new GitInputError(`package ${content.packageName}: the files must include a Kptfile`);
    }
    assertPackageEntries(content.files, content.modes ?? new Map());
    if (content.title) assertOneLine('commit title', content.title);
    if (content.owner) assertOwner(content.owner);
  }

  private checkRevisionRef<T extends RevisionRef>(ref: T): T {
    this.store.packagePath(ref.packageName);
    assertWorkspaceName(ref.workspace);
    if (ref.expectedCommit) assertObjectId(ref.expectedCommit);
    return ref;
  }

  private checkPublishedRef(ref: PublishedRef): PublishedRef {
    this.store.packagePath(ref.packageName);
    if (!Number.isSafeInteger(ref.revision) || ref.revision < 1) {
      throw new GitInputError(`invalid revision ${ref.revision}: must be a positive integer`);
    }
    return { packageName: ref.packageName, revision: ref.revision };
  }

  /** Writes and pushes everything; one result per operation, in order. */
  async push(): Promise<BatchResult[]> {
    if (this.pushed) throw new Error('this batch has already been pushed');
    this.pushed = true;
    const results: Array<BatchResult | undefined> = this.ops.map(() => undefined);
    const store = this.store;
    if (this.ops.length === 0) return [];
    await store.refs(); // a first refresh when the store has none yet
    let lastRejections: RefPushStatus[] = [];
    for (let attempt = 1; attempt <= store.maxPushAttempts; attempt++) {
      const pending = this.ops.map((_, i) => i).filter((i) => results[i] === undefined);
      if (pending.length === 0) break;
      const done = await store.cache.exclusive(async () => {
        const refs = await store.refs();
        const index = await store.cache.refIndex(); // the same snapshot: both are read inside exclusive()
        const context: PlanContext = {
          refs,
          specs: [],
          branchTip: refs.get(branchRef(store.branch)),
          index,
          assignedRevision: new Map(),
        };
        const planned = new Map<number, Plan>();
        /** The deployment branch tip after each planned operation (approvals move it). */
        const tips = new Map<number, string | undefined>();
        const touched = new Set<string>();
        for (const i of pending) {
          const plan = await this.plan(i, context);
          if ('updates' in plan && plan.updates.some((u) => touched.has(u.ref))) {
            planned.set(i, {
              final: {
                ...plan.result,
                status: 'rejected',
                message: 'another operation in this batch changes the same ref',
              },
            });
            continue;
          }
          if ('updates' in plan) for (const u of plan.updates) touched.add(u.ref);
          planned.set(i, plan);
          tips.set(i, context.branchTip);
        }
        for (const [i, plan] of planned) if ('final' in plan) results[i] = plan.final;
        const live = [...planned].filter(
          (entry): entry is [number, Extract<Plan, { updates: RefUpdate[] }>] => 'updates' in entry[1],
        );
        if (live.length === 0) return true;
        const ids = await writeCommits(store.cache.gitDir, context.specs);
        const resolve = (oid: string | null): string | null => {
          const mark = oid ? MARK.exec(oid) : null;
          return mark ? ids[Number(mark[1]) - 1]! : oid;
        };
        // Each wave moves the deployment branch to the last approval in it, so its tags and merge
        // commits are published together. After a refused wave, no later wave moves the branch (its
        // merges build on the refused ones); those wait for the next attempt, planned again.
        let pushedTip = refs.get(branchRef(store.branch));
        let plannedTip = pushedTip;
        let refused = false;
        for (const wave of pushWaves(live, gitLimits().maxPushRefs)) {
          const waveTip = tips.get(wave[wave.length - 1]![0]);
          const movesBranch = waveTip !== plannedTip && waveTip !== undefined;
          plannedTip = waveTip;
          if (movesBranch && refused) continue;
          const branchUpdates: RefUpdate[] = movesBranch
            ? [{ ref: branchRef(store.branch), newOid: waveTip, expectedOid: pushedTip ?? null }]
            : [];
          const updates = [...wave.flatMap(([, plan]) => plan.updates), ...branchUpdates].map((u) => ({
            ...u,
            newOid: resolve(u.newOid),
          }));
          if (store.dryRun) {
            store.previewed.push(...updates);
          } else {
            const outcome = await store.cache.network((env, secrets) =>
              atomicPush(store.cache.gitDir, store.url, updates, {
                env,
                secrets,
                timeoutMs: store.cache.pushTimeoutMs(updates.length),
              }),
            );
            if (!outcome.ok) {
              lastRejections = outcome.refs.filter((r) => !r.ok);
              refused = true;
              continue;
            }
            await store.cache.recordPushed(updates);
          }
          if (movesBranch) pushedTip = resolve(waveTip) ?? undefined;
          for (const [i, plan] of wave) {
            const commit = plan.result.commit ? (resolve(plan.result.commit) ?? undefined) : undefined;
            results[i] = { ...plan.result, ...(commit ? { commit } : {}) } as BatchResult;
          }
        }
        return !refused;
      });
      if (done) break;
      await store.cache.refresh();
    }
    // Package contents are not needed any more; do not keep them alive with the batch.
    for (const op of this.ops) {
      if ('files' in op) op.files = new Map();
      if ('modes' in op) op.modes = new Map();
    }
    return this.ops.map((op, i) => {
      const result = results[i];
      if (result) return result;
      const reasons = lastRejections
        .filter((r) => !r.summary.includes('atomic push failed'))
        .map((r) => `${r.ref}: ${r.summary}`);
      return {
        op: op.kind,
        ...describe(op),
        status: 'rejected',
        refs: [],
        message: `push to ${store.url} refused after ${store.maxPushAttempts} attempt(s)${reasons.length ? `: ${reasons.join('; ')}` : ''}`,
      };
    });
  }

  private leaseFor(index: number, current: string | undefined, explicit: string | undefined): string | undefined {
    if (explicit) return explicit;
    if (!this.leases.has(index) && current) this.leases.set(index, current);
    return this.leases.get(index);
  }

  private addCommit(context: PlanContext, spec: CommitSpec): string {
    context.specs.push(spec);
    return `:${context.specs.length}`;
  }

  private highestRevision(context: PlanContext, pkgPath: string): number {
    const assigned = context.assignedRevision.get(pkgPath);
    if (assigned !== undefined) return assigned;
    let highest = 0;
    for (const { parsed } of context.index.ofPackage(pkgPath)) {
      if (parsed.kind === 'published') highest = Math.max(highest, parsed.revision);
    }
    return highest;
  }

  private async plan(index: number, context: PlanContext): Promise<Plan> {
    const op = this.ops[index]!;
    const store = this.store;
    const base = { op: op.kind, ...describe(op) };
    const final = (status: BatchStatus, message?: string, commit?: string): Plan => ({
      final: { ...base, status, refs: [], ...(message ? { message } : {}), ...(commit ? { commit } : {}) },
    });
    const refs = context.refs;
    switch (op.kind) {
      case 'createBranch': {
        const ref = branchRef(store.branch);
        if (refs.has(ref)) return final('already-exists', `branch ${store.branch} exists`, refs.get(ref));
        const commit = this.addCommit(context, {
          parents: [],
          changes: [
            { kind: 'file', path: 'README.md', content: Buffer.from('Created by packagevariant-controller\n') },
          ],
          message: `Initial commit: Creating ${store.branch} branch\n`,
          author: store.author,
          committer: store.committer,
        });
        return {
          updates: [{ ref, newOid: commit, expectedOid: null }],
          result: { ...base, status: 'created', refs: [ref], commit },
        };
      }
      case 'createDraft':
      case 'updateDraft': {
        const pkgPath = store.packagePath(op.packageName);
        const ref = draftRef(pkgPath, op.workspace);
        const current = refs.get(ref);
        let parent: string | undefined;
        let expected: string | null;
        if (op.kind === 'createDraft') {
          if (current) return final('already-exists', `draft ${ref} exists`, current);
          const proposed = refs.get(proposedRef(pkgPath, op.workspace));
          if (proposed) return final('already-exists', `workspace ${op.workspace} is proposed`, proposed);
          parent = refs.get(branchRef(store.branch));
          expected = null;
          const nested = parent ? await store.nestingConflict(parent, op.packageName) : undefined;
          if (nested) return final('rejected', `packages cannot be nested: ${pkgPath} and ${nested}`);
          const file = parent ? await store.fileInTheWay(parent, op.packageName) : undefined;
          if (file) return final('rejected', `${file} is a file on ${store.branch}: a package there would replace it`);
        } else {
          if (!current) return final('not-found', `draft ${ref} does not exist`);
          const lease = this.leaseFor(index, current, op.expectedCommit)!;
          if (current !== lease)
            return final('rejected', `draft ${ref} moved to ${current.slice(0, 12)} (expected ${lease.slice(0, 12)})`);
          parent = current;
          expected = current;
        }
        const annotation: KptAnnotation = {
          package: pkgPath,
          workspaceName: op.workspace,
          revision: '0',
          ...(op.task ? { task: op.task } : {}),
        };
        const commit = this.addCommit(context, {
          parents: parent ? [parent] : [],
          changes: [{ kind: 'files', path: pkgPath, files: op.files, ...(op.modes ? { modes: op.modes } : {}) }],
          message: formatCommitMessage({
            title: op.title || porchCommitTitle(op.task?.type),
            ...(op.body ? { body: op.body } : {}),
            annotation,
            ...(op.owner ? { owner: op.owner } : {}),
            ...(op.conflicts?.length ? { conflicts: op.conflicts } : {}),
          }),
          author: op.author ?? store.author,
          committer: store.committer,
        });
        return {
          updates: [{ ref, newOid: commit, expectedOid: expected }],
          result: { ...base, status: op.kind === 'createDraft' ? 'created' : 'updated', refs: [ref], commit },
        };
      }
      case 'propose':
      case 'reject': {
        const pkgPath = store.packagePath(op.packageName);
        const from = op.kind === 'propose' ? draftRef(pkgPath, op.workspace) : proposedRef(pkgPath, op.workspace);
        const to = op.kind === 'propose' ? proposedRef(pkgPath, op.workspace) : draftRef(pkgPath, op.workspace);
        const current = refs.get(from);
        if (!current) return final('not-found', `${from} does not exist`);
        const lease = this.leaseFor(index, current, op.expectedCommit)!;
        if (current !== lease) return final('rejected', `${from} moved to ${current.slice(0, 12)}`);
        if (refs.has(to)) return final('already-exists', `${to} exists`);
        return {
          updates: [
            { ref: to, newOid: current, expectedOid: null },
            { ref: from, newOid: null, expectedOid: current },
          ],
          result: { ...base, status: 'updated', refs: [to, from], commit: current },
        };
      }
      case 'approve': {
        const pkgPath = store.packagePath(op.packageName);
        const candidates = [proposedRef(pkgPath, op.workspace), draftRef(pkgPath, op.workspace)];
        const from = candidates.find((r) => refs.has(r));
        if (!from) return final('not-found', `no draft or proposed revision ${pkgPath}/${op.workspace}`);
        const head = refs.get(from)!;
        const lease = this.leaseFor(index, head, op.expectedCommit)!;
        if (head !== lease) return final('rejected', `${from} moved to ${head.slice(0, 12)}`);
        const tree = await store.packageTree(head, op.packageName);
        if (!tree) return final('rejected', `${from} has no package (Kptfile) at ${pkgPath}`);
        const revision = this.highestRevision(context, pkgPath) + 1;
        context.assignedRevision.set(pkgPath, revision);
        const tag = publishedTag(pkgPath, revision);
        const { owner } = await store.draftHistory(head, pkgPath, op.workspace);
        const commit = this.addCommit(context, {
          parents: context.branchTip ? [context.branchTip, head] : [head],
          changes: [{ kind: 'tree', path: pkgPath, tree }],
          message: formatCommitMessage({
            title: op.title || `Approving package revision ${pkgPath}/${revision}`,
            annotation: { package: pkgPath, workspaceName: op.workspace, revision: String(revision) },
            ...(owner ? { owner } : {}),
          }),
          author: store.author,
          committer: store.committer,
        });
        context.branchTip = commit;
        return {
          updates: [
            { ref: tag, newOid: commit, expectedOid: null },
            { ref: from, newOid: null, expectedOid: head },
          ],
          result: { ...base, revision, status: 'created', refs: [branchRef(store.branch), tag, from], commit },
        };
      }
      case 'deleteDraft': {
        const pkgPath = store.packagePath(op.packageName);
        const ref = [draftRef(pkgPath, op.workspace), proposedRef(pkgPath, op.workspace)].find((r) => refs.has(r));
        if (!ref) return final('not-found', `no draft or proposed revision ${pkgPath}/${op.workspace}`);
        const current = refs.get(ref)!;
        const lease = this.leaseFor(index, current, op.expectedCommit)!;
        if (current !== lease) return final('rejected', `${ref} moved to ${current.slice(0, 12)}`);
        return {
          updates: [{ ref, newOid: null, expectedOid: current }],
          result: { ...base, status: 'deleted', refs: [ref] },
        };
      }
      case 'proposeDelete':
      case 'undoProposeDelete':
      case 'deletePublished': {
        const pkgPath = store.packagePath(op.packageName);
        const tag = publishedTag(pkgPath, op.revision);
        const branch = deletionProposedRef(pkgPath, op.revision);
        const tagged = refs.get(tag);
        const proposal = refs.get(branch);
        if (op.kind === 'proposeDelete') {
          if (!tagged) return final('not-found', `${tag} does not exist`);
          if (proposal) return final('already-exists', `${branch} exists`, proposal);
          const commit = (await store.commit(tagged)).oid;
          return {
            updates: [{ ref: branch, newOid: commit, expectedOid: null }],
            result: { ...base, status: 'created', refs: [branch], commit },
          };
        }
        if (op.kind === 'undoProposeDelete') {
          if (!proposal) return final('not-found', `${branch} does not exist`);
          return {
            updates: [{ ref: branch, newOid: null, expectedOid: proposal }],
            result: { ...base, status: 'deleted', refs: [branch] },
          };
        }
        if (!tagged) return final('not-found', `${tag} does not exist`);
        const updates: RefUpdate[] = [{ ref: tag, newOid: null, expectedOid: tagged }];
        if (proposal) updates.push({ ref: branch, newOid: null, expectedOid: proposal });
        return { updates, result: { ...base, status: 'deleted', refs: updates.map((u) => u.ref) } };
      }
    }
  }
}

/**
 * Planned operations, in order, in waves of at most `maxRefs` ref updates, one of them kept for the
 * deployment branch (an operation's own updates are never split, so a wave holds at least one).
 */
function pushWaves<T extends [number, { updates: RefUpdate[] }]>(plans: T[], maxRefs: number): T[][] {
  const waves: T[][] = [];
  let wave: T[] = [];
  let size = 1;
  for (const entry of plans) {
    if (wave.length && size + entry[1].updates.length > maxRefs) {
      waves.push(wave);
      wave = [];
      size = 1;
    }
    wave.push(entry);
    size += entry[1].updates.length;
  }
  if (wave.length) waves.push(wave);
  return waves;
}

function describe(op: BatchOp): Pick<BatchResult, 'packageName' | 'workspace' | 'revision'> {
  if (op.kind === 'createBranch') return {};
  if ('revision' in op) return { packageName: op.packageName, revision: op.revision };
  return { packageName: op.packageName, ...('workspace' in op ? { workspace: op.workspace } : {}) };
}
