// Step 3 of a PackageVariant reconcile: from what was observed and the content the pipeline built,
// the git operations, events and status targets. Pure and synchronous: no git, no API.
import type { DownstreamTarget, MergeConflict } from '../../api/v1alpha1/index.ts';
import type { BatchOp } from '../../lib/git/batch.ts';
import type { PackageRevision } from '../../lib/git/store.ts';
import { readKptfile } from '../../lib/kpt/kptfile.ts';
import { KPTFILE, type PackageModes } from '../../lib/kpt/package.ts';
import type { Conflict } from '../../lib/merge/index.ts';
import type { KubeEvent } from '../store.ts';
import { toMergeConflicts, type Content, type DraftTask, type RenderRun } from './content.ts';
import { isOwnedBy, revisionName } from './downstream.ts';
import { packagesDiffer } from './mutations.ts';
import type { Observed } from './observe.ts';
import { heldDraft, heldMessage, MANUAL_POLICY, publishDecision } from './publish.ts';

export interface Decision {
  /** A person must act first: nothing is written. */
  stalled?: { reason: string; message: string };
  /** The downstream repository's operations, pushed together; the draft write, when any, first. */
  ops: BatchOp[];
  /** The draft this reconcile writes. */
  write?: { kind: 'created' | 'updated'; workspace: string; task: DraftTask; conflicts: number };
  /** Drafts the variant owns but leaves alone (someone else committed to them). */
  kept: PackageRevision[];
  /** Publish the draft after the push (`publishPolicy: Automatic`); the lease is its head then. */
  publish?: { workspace: string; expectedCommit?: string };
  /** Why an Automatic variant's draft is not published. */
  withheld?: string;
  /** Why a PackageVariantSet rollout keeps the variant from starting its upstream change. */
  held?: string;
  /** Recorded after a successful push. */
  events: KubeEvent[];
  /** Status targets; a written draft's commit is filled in by act. */
  targets: DownstreamTarget[];
  /** The downstream does not carry the current upstream package (for metrics), before any publish. */
  outdated: boolean;
  /** The render this decision was made on, when it ran; `blocked`: it failed and nothing was pushed. */
  render?: RenderRun & { blocked: boolean };
}

export function decide(observed: Observed, content: Content): Decision {
  const { downstream, spec, packageName, downRepo, pv } = observed;
  const repoName = downRepo.metadata!.name!;
  const stalled = whyStalled(observed);
  if (stalled) return { ...nothing(), stalled };
  const [draft, ...extraDrafts] = downstream.drafts;
  const base = observed.base;
  // A render failure pushes nothing broken, unless the variant or its package asks for it (Porch).
  const renderFailed = content.render?.error !== undefined;
  const renderBlocked = renderFailed && !pushOnRenderFailure(observed, content);
  const changed =
    !renderBlocked &&
    (!base ||
      (content.files !== base.content.files && packagesDiffer(base.content.files, content.files)) ||
      modesDiffer(base.content.modes, content.modes));
  const current = draft ?? downstream.published;
  const currentTargets = current
    ? [{ ...revisionTarget(repoName, packageName, current), ...upstreamCommitOf(content.baseUpstreamCommit) }]
    : [];

  const hold = changed ? heldDraft(pv, content.task) : undefined;
  if (hold && content.task !== 'edit') {
    return { ...nothing(), held: heldMessage(content.task, hold), targets: currentTargets, outdated: true };
  }

  const drafting = changed ? draftWrite(observed, content, draft) : { ops: [], events: [] };
  const { write } = drafting;
  const cleanup = cleanupOps(observed, extraDrafts);
  const ops = [...drafting.ops, ...cleanup.ops];
  const events = [...drafting.events, ...cleanup.kept.map((k) => keptEvent(repoName, k))];
  if (renderFailed) events.push(renderFailedEvent(content.render!.error!, renderBlocked));

  const renderStatus = content.render
    ? { renderStatus: { result: content.render.results, ...(renderFailed ? { error: content.render.error } : {}) } }
    : undefined;
  const targets: DownstreamTarget[] = write
    ? [
        {
          name: revisionName(repoName, packageName, write.workspace),
          lifecycle: 'Draft',
          ref: `drafts/${observed.packagePath}/${write.workspace}`,
          upstreamCommit: content.upstreamCommit,
          ...conflictsOf(toMergeConflicts(content.conflicts)),
          ...renderStatus,
        },
      ]
    : currentTargets.map((t, i) => (i === 0 ? { ...t, ...(renderStatus ?? previousRenderStatus(observed, t)) } : t));

  // The draft pending after the push: the one written now, or the variant's unchanged draft.
  const pending = write ? { workspace: write.workspace } : draft && !changed ? draft : undefined;
  const publishing =
    spec.publishPolicy !== 'Automatic'
      ? {}
      : renderBlocked
        ? pending || draft
          ? { withheld: `draft ${targets[0]!.name} is not published automatically: its render failed` }
          : {}
        : pending
          ? publishVerdict(observed, content, draft, pending, write, targets[0]!.name)
          : {};
  if (publishing.withheld && write && !renderBlocked) {
    events.push({ type: 'Warning', reason: 'PublishWithheld', message: publishing.withheld });
  }
  return {
    ops,
    ...(write ? { write } : {}),
    kept: cleanup.kept,
    ...publishing,
    events,
    ...(content.render ? { render: { ...content.render, blocked: renderBlocked } } : {}),
    targets: [
      ...targets,
      ...cleanup.kept.filter((k) => k.packageName === packageName).map((k) => revisionTarget(repoName, packageName, k)),
    ],
    outdated: content.task !== 'edit' || !observed.publishedCurrent,
  };
}

/** Why the variant may not write its downstream at all (a person must act first). */
function whyStalled(observed: Observed): Decision['stalled'] {
  const { downstream, spec, packageName, downRepo } = observed;
  const repoName = downRepo.metadata!.name!;
  const adopt = spec.adoptionPolicy === 'adoptExisting';
  // Whoever published the latest revision, the package is ours once any revision of it was.
  if (downstream.published && !adopt && downstream.ownedPublished.length === 0 && downstream.drafts.length === 0) {
    return {
      reason: 'DownstreamNotOwned',
      message:
        `package ${packageName} in Repository ${repoName} was not created by this PackageVariant; ` +
        'set spec.adoptionPolicy to adoptExisting to take it over',
    };
  }
  if (observed.rivals.length) {
    return {
      reason: 'DownstreamConflict',
      message: `package ${packageName} in Repository ${repoName} is the downstream of PackageVariant ${observed.rivals[0]} already; two variants cannot share one downstream package`,
    };
  }
  if (observed.fileInTheWay) {
    return {
      reason: 'InvalidDownstream',
      message: `${observed.fileInTheWay} is a file on the deployment branch of Repository ${repoName}: a package at ${observed.packagePath} would replace it`,
    };
  }
  return undefined;
}

/** The draft write for changed content: the variant's draft updated in place, or a new draft. */
function draftWrite(
  observed: Observed,
  content: Content,
  draft: PackageRevision | undefined,
): { ops: BatchOp[]; events: KubeEvent[]; write?: NonNullable<Decision['write']> } {
  const { packageName, owner, downstream, downRepo } = observed;
  if (draft && draft.lifecycle !== 'Draft') return { ops: [], events: [] }; // a Proposed draft is never rewritten
  const body = conflictReport(content.conflicts);
  const draftContent = {
    packageName,
    files: content.files,
    modes: content.modes,
    task: porchTask(observed, content.task),
    owner,
    ...(body ? { body } : {}),
    conflicts: content.conflicts,
  };
  const workspace = draft?.workspace ?? downstream.nextWorkspace;
  const op: BatchOp = draft
    ? { kind: 'updateDraft', ...draftContent, workspace, expectedCommit: draft.commit }
    : { kind: 'createDraft', ...draftContent, workspace };
  const write = {
    kind: draft ? ('updated' as const) : ('created' as const),
    workspace,
    task: content.task,
    conflicts: content.conflicts.length,
  };
  const conflictNote = content.conflicts.length ? ` with ${content.conflicts.length} merge conflict(s)` : '';
  const events: KubeEvent[] = [
    {
      type: 'Normal',
      reason: draft ? 'DraftUpdated' : 'DraftCreated',
      message: `${content.task} draft ${workspace} of ${packageName} in ${downRepo.metadata!.name}${conflictNote}`,
    },
  ];
  if (body) events.push({ type: 'Warning', reason: 'MergeConflicts', message: body.slice(0, 1024) });
  return { ops: [op], events, write };
}

/**
 * Drafts the variant owns besides its own: a younger duplicate (a race outside our control) and,
 * when `spec.downstream.package` changed, the old package's revisions (as deletion would take
 * them; `deletionPolicy: orphan` leaves them). A draft carrying commits the controller did not
 * write is kept.
 */
function cleanupOps(
  observed: Observed,
  extraDrafts: readonly PackageRevision[],
): { ops: BatchOp[]; kept: PackageRevision[] } {
  const { packageName, owner, spec } = observed;
  const ops: BatchOp[] = [];
  const kept: PackageRevision[] = [];
  for (const extra of extraDrafts) {
    if (extra.lifecycle === 'Draft' && isOwnedBy(extra, owner) && !extra.foreignCommits?.length) {
      ops.push({ kind: 'deleteDraft', packageName, workspace: extra.workspace, expectedCommit: extra.commit });
    } else kept.push(extra);
  }
  for (const revision of spec.deletionPolicy === 'delete' ? observed.elsewhere : []) {
    if (revision.lifecycle === 'Published') {
      ops.push({ kind: 'proposeDelete', packageName: revision.packageName, revision: revision.revision });
    } else if (revision.foreignCommits?.length) kept.push(revision);
    else {
      ops.push({
        kind: 'deleteDraft',
        packageName: revision.packageName,
        workspace: revision.workspace,
        expectedCommit: revision.commit,
      });
    }
  }
  return { ops, kept };
}

/** `publishPolicy: Automatic` for the pending draft: publish it, or say why not. */
function publishVerdict(
  observed: Observed,
  content: Content,
  draft: PackageRevision | undefined,
  pending: { workspace: string },
  write: Decision['write'],
  targetName: string,
): Pick<Decision, 'publish' | 'withheld'> {
  const verdict = publishDecision(observed.pv, {
    files: content.files,
    conflicts: content.conflicts.length,
    foreignCommits: draft?.foreignCommits?.length ?? 0,
    branchMoved: write?.kind === 'created' ? false : observed.branchMoved,
  });
  if (verdict.publish) {
    return { publish: { workspace: pending.workspace, ...(!write && draft ? { expectedCommit: draft.commit } : {}) } };
  }
  return verdict.reason === MANUAL_POLICY
    ? {}
    : { withheld: `draft ${targetName} is not published automatically: ${verdict.reason}` };
}

function renderFailedEvent(error: string, blocked: boolean): KubeEvent {
  const what = blocked ? 'nothing pushed' : `pushed anyway (${PUSH_ON_RENDER_FAILURE})`;
  return { type: 'Warning', reason: 'RenderFailed', message: `${what}: ${error}`.slice(0, 1024) };
}

export const PUSH_ON_RENDER_FAILURE = 'porch.kpt.dev/push-on-render-failure';

/** Porch's annotation, on the variant or on the package's Kptfile. */
function pushOnRenderFailure(observed: Observed, content: Content): boolean {
  if (observed.pv.metadata?.annotations?.[PUSH_ON_RENDER_FAILURE] === 'true') return true;
  const kptfile = content.files.get(KPTFILE);
  if (!kptfile) return false;
  try {
    const meta = (readKptfile(kptfile).toJSON() as { metadata?: { annotations?: Record<string, string> } }).metadata;
    return meta?.annotations?.[PUSH_ON_RENDER_FAILURE] === 'true';
  } catch {
    return false;
  }
}

/** The render status the variant's status already shows for this very commit (the render did not run again). */
function previousRenderStatus(observed: Observed, target: DownstreamTarget): Pick<DownstreamTarget, 'renderStatus'> {
  const before = observed.pv.status?.downstreamTargets?.find((t) => t.name === target.name);
  return before?.renderStatus !== undefined && before.commit === target.commit
    ? { renderStatus: before.renderStatus }
    : {};
}

function nothing(): Decision {
  return { ops: [], kept: [], events: [], targets: [], outdated: true };
}

function upstreamCommitOf(commit: string | undefined) {
  return commit ? { upstreamCommit: commit } : {};
}

function conflictsOf(conflicts: MergeConflict[]) {
  return conflicts.length ? { conflicts } : {};
}

/** A status target for a revision as git holds it (conflicts as its commits record them). */
export function revisionTarget(repoName: string, packageName: string, revision: PackageRevision): DownstreamTarget {
  return {
    name: revisionName(repoName, packageName, revision.workspace),
    lifecycle: revision.lifecycle,
    ref: revision.ref.replace(/^refs\/(heads|tags)\//, ''),
    commit: revision.commit,
    ...conflictsOf(
      (revision.conflicts ?? []).map((c) => ({ ...c, winner: c.winner === 'local' ? 'local' : 'upstream' })),
    ),
  };
}

export function keptEvent(repoName: string, draft: PackageRevision): KubeEvent {
  const count = draft.foreignCommits?.length ?? 0;
  return {
    type: 'Warning',
    reason: 'DraftKept',
    message:
      `draft ${draft.workspace} of ${draft.packageName} in ${repoName} is not deleted` +
      (count ? `: it carries ${count} commit(s) the controller did not write` : '') +
      '; publish or delete it by hand',
  };
}

export function modesDiffer(before: PackageModes, after: PackageModes): boolean {
  if (before.size !== after.size) return true;
  for (const [path, entry] of before) {
    const next = after.get(path);
    if (!next || next.kind !== entry.kind) return true;
    if (entry.kind === 'symlink' && !(next as typeof entry).target.equals(entry.target)) return true;
    if (entry.kind === 'gitlink' && (next as typeof entry).commit !== entry.commit) return true;
  }
  return false;
}

/** The Porch task recorded in the draft commit's `kpt:` annotation. */
export function porchTask(observed: Observed, kind: DraftTask) {
  const { upstream, downRepo, packageName, base } = observed;
  const upstreamName = `${upstream.watch.repo.split('/').pop()}.${upstream.packageName.replaceAll('/', '.')}.${upstream.revision ? `v${upstream.revision}` : 'main'}`;
  const baseName = base ? revisionName(downRepo.metadata!.name!, packageName, base.revision.workspace) : undefined;
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
