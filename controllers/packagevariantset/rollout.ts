// Fleet rollout (beyond Porch): which generated variants may start a draft that brings in a new
// upstream revision now. A pure decision from each variant's reported state; the set writes the
// result as the `packagevariant.dev/rollout-hold` annotation, which the PackageVariant reconciler
// respects. Without `spec.rollout` nothing is held (Porch's behaviour).
import {
  SUSPENDED_REASON,
  UPGRADE_HELD_REASON,
  type LabelSelector,
  type PackageVariant,
  type Rollout,
} from '../../api/v1alpha1/index.ts';
import { getCondition } from '../../lib/kube/conditions.ts';
import { matchesSelector } from '../store.ts';

export type VariantState = 'upToDate' | 'waiting' | 'draftPending' | 'conflicted' | 'failed';

/** Draft in flight, or failing: counts against `maxConcurrent`, and keeps its slot until resolved. */
const IN_FLIGHT: readonly VariantState[] = ['draftPending', 'conflicted', 'failed'];

/** A variant's state from its status. A variant that has not reported on its current spec is `waiting`. */
export function variantState(pv: PackageVariant | undefined): VariantState {
  const status = pv?.status;
  if (!pv || !status || status.observedGeneration !== pv.metadata?.generation) return 'waiting';
  const ready = getCondition(status.conditions, 'Ready');
  if (getCondition(status.conditions, 'Stalled')?.status === 'True') return 'failed';
  if (!ready) return 'waiting';
  // Suspended by a person: not a failure, and not in flight.
  if (ready.reason === SUSPENDED_REASON) return 'waiting';
  if (ready.status !== 'True') return ready.reason === 'MergeConflicts' ? 'conflicted' : 'failed';
  const drafts = (status.downstreamTargets ?? []).filter((t) => t.lifecycle === 'Draft' || t.lifecycle === 'Proposed');
  if (drafts.some((t) => t.conflicts?.length)) return 'conflicted';
  if (drafts.length) return 'draftPending';
  return ready.reason === UPGRADE_HELD_REASON ? 'waiting' : 'upToDate';
}

export interface RolloutMember {
  name: string;
  /** Labels of the target object or downstream Repository (what stage selectors match). */
  labels: Record<string, string>;
  state: VariantState;
  /** The variant exists and is not held now (released by an earlier reconcile). */
  unheld?: boolean;
}

export interface RolloutPlan {
  /** Hold reason by variant name; variants not listed may start a draft now. */
  holds: Map<string, string>;
  /** Names of the variants released (sorted). Empty without a rollout. */
  released: string[];
  currentStage?: string;
  halted: boolean;
  paused: boolean;
  complete: boolean;
  message: string;
}

/** Stage of the variants no stage selects, so that none is silently left out. */
export const UNSTAGED = 'unstaged';

interface Stage {
  name: string;
  selector?: LabelSelector;
  members: RolloutMember[];
}

function stagesOf(rollout: Rollout, members: readonly RolloutMember[]): Stage[] {
  const stages: Stage[] = (rollout.stages ?? []).map((s) => ({
    name: s.name,
    selector: s.selector ?? {},
    members: [],
  }));
  const rest: Stage = { name: stages.length ? UNSTAGED : 'all', members: [] };
  for (const member of [...members].sort((a, b) => a.name.localeCompare(b.name))) {
    const stage = stages.find((s) => matchesSelector(member.labels, s.selector)) ?? rest;
    stage.members.push(member);
  }
  return rest.members.length || !stages.length ? [...stages, rest] : stages;
}

function count(members: readonly RolloutMember[], ...states: VariantState[]): number {
  return members.filter((m) => states.includes(m.state)).length;
}

export function planRollout(
  setName: string,
  rollout: Rollout | undefined,
  members: readonly RolloutMember[],
): RolloutPlan {
  if (!rollout) return { holds: new Map(), released: [], halted: false, paused: false, complete: false, message: '' };
  const stages = stagesOf(rollout, members);
  const failed = members
    .filter((m) => m.state === 'failed')
    .map((m) => m.name)
    .sort();
  const budget = rollout.maxFailures ?? 0;
  const halted = failed.length > budget;
  const currentIndex = stages.findIndex((s) => s.members.some((m) => m.state !== 'upToDate'));
  const current = currentIndex >= 0 ? stages[currentIndex] : undefined;
  const released = new Set<string>();
  if (current) {
    for (const stage of stages.slice(0, currentIndex + 1)) {
      for (const m of stage.members) if (IN_FLIGHT.includes(m.state)) released.add(m.name);
    }
    if (!halted && !rollout.paused) {
      let slots = (rollout.maxConcurrent ?? Infinity) - count(current.members, ...IN_FLIGHT);
      // A variant released earlier that has not started its draft yet keeps its slot, so that a
      // reconcile in between never releases more than maxConcurrent.
      const waiting = current.members.filter((m) => m.state === 'waiting');
      for (const m of [...waiting.filter((m) => m.unheld), ...waiting.filter((m) => !m.unheld)]) {
        if (slots <= 0) break;
        released.add(m.name);
        slots--;
      }
    }
  }
  const who = `the rollout of PackageVariantSet ${setName}`;
  let message: string;
  let holdReason: (m: RolloutMember, stage: Stage) => string;
  if (halted) {
    message = `halted: ${failed.length} failed variant(s) exceed maxFailures ${budget}: ${failed.join(', ')}`;
    holdReason = () => `${who} is halted: ${failed.length} failed variant(s) exceed maxFailures ${budget}`;
  } else if (rollout.paused) {
    message = 'paused';
    holdReason = () => `${who} is paused`;
  } else if (!current) {
    message = `complete: ${members.length} variant(s) up to date`;
    holdReason = () => `${who} starts the next upstream revision in stage "${stages[0]?.name}"`;
  } else {
    const waiting = count(current.members, 'waiting');
    message =
      `stage "${current.name}" (${currentIndex + 1}/${stages.length}): ` +
      `${count(current.members, 'upToDate')}/${current.members.length} up to date, ` +
      `${count(current.members, ...IN_FLIGHT)} in flight, ${waiting} waiting`;
    holdReason = (m, stage) => {
      const index = stages.indexOf(stage);
      if (index < currentIndex)
        return `${who}: stage "${stage.name}" is complete; the rollout is in stage "${current.name}"`;
      if (index > currentIndex) return `${who}: stage "${stage.name}" waits for stage "${current.name}"`;
      if (m.state === 'upToDate') return `${who}: up to date; stage "${current.name}" is still rolling out`;
      return `${who}: stage "${current.name}" has ${rollout.maxConcurrent} variant(s) in flight (maxConcurrent)`;
    };
  }
  const holds = new Map<string, string>();
  for (const stage of stages) {
    for (const m of stage.members) if (!released.has(m.name)) holds.set(m.name, holdReason(m, stage));
  }
  return {
    holds,
    released: [...released].sort(),
    ...(current ? { currentStage: current.name } : {}),
    halted,
    paused: !!rollout.paused,
    complete: !current,
    message,
  };
}
