// The status a set reconcile writes: Porch's Stalled/Ready conditions and reasons, plus Reconciling
// (the rollout is still moving), observedGeneration, counts of the generated variants by state, the
// target collisions and the rollout's position. Written only when it changed.
import type {
  PackageVariantSet,
  PackageVariantSetStatus,
  TargetCollision,
  VariantSummary,
} from '../../api/v1alpha1/index.ts';
import { handledRequest } from '../packagevariant/status.ts';
import { capMessage as capAt, setKstatusConditions } from '../../lib/kube/conditions.ts';
import { jsonEqual } from './equal.ts';
import type { RolloutPlan } from './rollout.ts';

export interface SetOutcome {
  /**
   * `ready`: variants reconciled; `stalled`: needs a person; `error`: retried with backoff;
   * `suspended`: targets rendered, no variant created, updated or deleted (spec.suspend).
   */
  kind: 'ready' | 'stalled' | 'error' | 'suspended';
  reason: string;
  message: string;
  summary?: VariantSummary;
  /** Names of the generated variants that are Stalled or not Ready: a set with any is not Ready. */
  failedVariants?: string[];
  collisions?: TargetCollision[];
  rollout?: RolloutPlan;
}

/** Condition messages stay readable (and far below the API's 32 KiB limit) on a fleet of thousands. */
const MAX_MESSAGE = 2048;
export function capMessage(message: string): string {
  return capAt(message, MAX_MESSAGE);
}

function reconciling(outcome: SetOutcome): { status: 'True' | 'False'; reason: string; message: string } {
  if (outcome.kind === 'error') return { status: 'True', reason: 'Retrying', message: outcome.message };
  if (outcome.kind === 'stalled' || outcome.kind === 'suspended') {
    return { status: 'False', reason: outcome.reason, message: '' };
  }
  const plan = outcome.rollout;
  if (plan?.halted) return { status: 'False', reason: 'RolloutHalted', message: plan.message };
  if (plan && !plan.complete) {
    return { status: 'True', reason: plan.paused ? 'RolloutPaused' : 'RolloutInProgress', message: plan.message };
  }
  const s = outcome.summary;
  const busy = s ? s.total - s.upToDate : 0;
  return busy
    ? { status: 'True', reason: 'VariantsPending', message: `${busy} of ${s!.total} variant(s) not up to date` }
    : { status: 'False', reason: 'Reconciled', message: '' };
}

/** The Ready condition: a reconciled set is Ready only while none of its variants failed. */
function ready(outcome: SetOutcome): { status: 'True' | 'False'; reason: string; message: string } {
  const failed = outcome.failedVariants ?? [];
  if (outcome.kind !== 'ready') return { status: 'False', reason: outcome.reason, message: outcome.message };
  if (!failed.length) return { status: 'True', reason: outcome.reason, message: outcome.message };
  const total = outcome.summary?.total ?? failed.length;
  return {
    status: 'False',
    reason: 'VariantsFailed',
    message: `${failed.length} of ${total} variant(s) failed: ${failed.join(', ')}`,
  };
}

export function nextSetStatus(pvs: PackageVariantSet, outcome: SetOutcome, now?: string): PackageVariantSetStatus {
  const generation = pvs.metadata?.generation;
  const previous = pvs.status ?? {};
  const conditions = setKstatusConditions(
    previous.conditions,
    {
      ...(outcome.kind === 'stalled' ? { stalled: outcome } : {}),
      ready: ready(outcome),
      reconciling: reconciling(outcome),
    },
    generation,
    now,
    MAX_MESSAGE,
  );
  const summary = outcome.summary ?? previous.variants;
  const plan = outcome.rollout;
  const handled = handledRequest(pvs);
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions,
    ...(summary ? { variants: summary } : {}),
    ...(outcome.collisions?.length ? { collisions: outcome.collisions } : {}),
    ...(plan
      ? {
          rollout: {
            ...(plan.currentStage ? { currentStage: plan.currentStage } : {}),
            released: plan.released,
            halted: plan.halted,
            message: capMessage(plan.message),
          },
        }
      : {}),
    ...(handled ? { lastHandledReconcileAt: handled } : {}),
  };
}

export function setStatusChanged(before: PackageVariantSetStatus | undefined, after: PackageVariantSetStatus): boolean {
  return !jsonEqual(before ?? {}, after);
}
