// Publish policy and rollout holds on the PackageVariant side, as small pure functions the
// reconciler calls:
// - `heldDraft`: a PackageVariantSet rollout holds the variant (annotation
//   `packagevariant.dev/rollout-hold`): no draft that brings in an upstream revision (clone or
//   upgrade) is made or moved; edits of mutations still go through. The variant reports
//   Ready=True with reason `UpgradeHeld`, which tells the set that an upgrade is waiting.
// - `publishDecision`: `spec.publishPolicy: Automatic` publishes a draft that merged without
//   conflicts (as git records them for the draft), carries no commit the controller did not write,
//   was made from the package as the deployment branch holds it now, and whose Kptfile readiness
//   gates are all True; `Manual` (default) never does.
import {
  ROLLOUT_HOLD_ANNOTATION,
  UPGRADE_HELD_REASON,
  type DownstreamTarget,
  type PackageVariant,
} from '../../api/v1alpha1/index.ts';
import type { BatchOp, BatchResult } from '../../lib/git/batch.ts';
import { readKptfile } from '../../lib/kpt/kptfile.ts';
import { KPTFILE, type PackageFiles } from '../../lib/kpt/package.ts';

export { UPGRADE_HELD_REASON };

/** Why the variant may not start an upstream change now, or undefined when it may. */
export function rolloutHold(pv: PackageVariant): string | undefined {
  const hold = pv.metadata?.annotations?.[ROLLOUT_HOLD_ANNOTATION];
  return hold === undefined ? undefined : hold || 'held by a rollout';
}

/** The hold that stops a draft of this task, if any (clones and upgrades wait; edits do not). */
export function heldDraft(pv: PackageVariant, task: 'clone' | 'upgrade' | 'edit'): string | undefined {
  return task === 'edit' ? undefined : rolloutHold(pv);
}

/** The Ready message of a held variant. */
export function heldMessage(task: 'clone' | 'upgrade', hold: string): string {
  return `${task === 'clone' ? 'clone' : 'upgrade'} waits: ${hold}`;
}

export interface ReadinessGates {
  /** Condition types the Kptfile's `info.readinessGates` name. */
  gates: string[];
  /** Those whose condition in the Kptfile's `status.conditions` is not True. */
  pending: string[];
}

/** Readiness of a package: every `info.readinessGates[].conditionType` has a True condition in `status.conditions`. */
export function readinessGates(files: PackageFiles): ReadinessGates {
  const text = files.get(KPTFILE);
  if (!text) return { gates: [], pending: [] };
  const kptfile = readKptfile(text).toJSON() as {
    info?: { readinessGates?: { conditionType?: string }[] };
    status?: { conditions?: { type?: string; status?: string }[] };
  };
  const gates = (kptfile.info?.readinessGates ?? []).map((g) => g.conditionType ?? '').filter(Boolean);
  const conditions = new Map((kptfile.status?.conditions ?? []).map((c) => [c.type, c.status]));
  return { gates, pending: gates.filter((g) => conditions.get(g) !== 'True') };
}

export type PublishDecision = { publish: true } | { publish: false; reason: string };

export const MANUAL_POLICY = 'publishPolicy is Manual';

/** Whether the variant's pending draft (its content, merge conflicts and foreign commits) is to be published now. */
export function publishDecision(
  pv: PackageVariant,
  draft: { files: PackageFiles; conflicts: number; foreignCommits?: number; branchMoved?: boolean; lifecycle?: string },
): PublishDecision {
  if ((pv.spec?.publishPolicy ?? 'Manual') !== 'Automatic') return { publish: false, reason: MANUAL_POLICY };
  if (draft.conflicts) return { publish: false, reason: `the draft has ${draft.conflicts} merge conflict(s)` };
  if (draft.foreignCommits) {
    return {
      publish: false,
      reason: `the draft carries ${draft.foreignCommits} commit(s) the controller did not write`,
    };
  }
  if (draft.branchMoved) {
    return {
      publish: false,
      reason: 'the package changed on the deployment branch since the draft was made (publishing would replace it)',
    };
  }
  let pending: string[];
  try {
    pending = readinessGates(draft.files).pending;
  } catch (error) {
    return { publish: false, reason: `Kptfile: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (pending.length) return { publish: false, reason: `readiness gates not True: ${pending.join(', ')}` };
  return { publish: true };
}

/** The git operation that publishes the draft: the lease is the commit the decision was made on. */
export function approveOp(packageName: string, workspace: string, expectedCommit: string | undefined): BatchOp {
  return { kind: 'approve', packageName, workspace, ...(expectedCommit ? { expectedCommit } : {}) };
}

/** The status target of a revision `approveOp` published. */
export function publishedTarget(
  name: string,
  result: BatchResult,
  pkgPath: string,
  upstreamCommit: string | undefined,
): DownstreamTarget {
  return {
    name,
    lifecycle: 'Published',
    ref: `${pkgPath}/v${result.revision}`,
    ...(result.commit ? { commit: result.commit } : {}),
    ...(upstreamCommit ? { upstreamCommit } : {}),
  };
}
