// nextSetStatus: the conditions, counts and rollout position a PackageVariantSet reconcile writes.
import { describe, expect, it } from '@jest/globals';
import type { PackageVariantSet } from '../../api/v1alpha1/index.ts';
import { getCondition } from '../../lib/kube/conditions.ts';
import { nextSetStatus, setStatusChanged } from './status.ts';

const pvs: PackageVariantSet = {
  apiVersion: 'packagevariant.dev/v1alpha1',
  kind: 'PackageVariantSet',
  metadata: { name: 'fleet', namespace: 'default', generation: 2 },
  spec: {},
};
const summary = { total: 3, upToDate: 3, waiting: 0, draftPending: 0, conflicted: 0, failed: 0 };
const T0 = '2026-01-01T00:00:00Z';

describe('nextSetStatus', () => {
  it('all variants up to date: Ready, not Reconciling, the counts', () => {
    const status = nextSetStatus(pvs, { kind: 'ready', reason: 'NoErrors', message: 'ok', summary }, T0);
    expect(status.observedGeneration).toBe(2);
    expect(status.variants).toEqual(summary);
    expect(getCondition(status.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'NoErrors' });
    expect(getCondition(status.conditions, 'Reconciling')).toMatchObject({ status: 'False', reason: 'Reconciled' });
  });

  it('variants not up to date: Reconciling True (VariantsPending) with the count', () => {
    const status = nextSetStatus(
      pvs,
      { kind: 'ready', reason: 'NoErrors', message: 'ok', summary: { ...summary, upToDate: 1, draftPending: 2 } },
      T0,
    );
    expect(getCondition(status.conditions, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'VariantsPending',
      message: '2 of 3 variant(s) not up to date',
    });
  });

  it('failed variants: not Ready (VariantsFailed) and named', () => {
    const status = nextSetStatus(
      pvs,
      { kind: 'ready', reason: 'NoErrors', message: 'ok', summary, failedVariants: ['fleet-a'] },
      T0,
    );
    expect(getCondition(status.conditions, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'VariantsFailed',
      message: '1 of 3 variant(s) failed: fleet-a',
    });
  });

  it('stalled: Stalled True with a capped message', () => {
    const status = nextSetStatus(pvs, { kind: 'stalled', reason: 'UpstreamNotFound', message: 'x'.repeat(5000) }, T0);
    const stalled = getCondition(status.conditions, 'Stalled')!;
    expect(stalled).toMatchObject({ status: 'True', reason: 'UpstreamNotFound' });
    expect(stalled.message.length).toBeLessThanOrEqual(2048);
    expect(stalled.message).toMatch(/truncated\)$/);
    expect(getCondition(status.conditions, 'Ready')?.status).toBe('False');
  });

  it('a halted rollout says so in Reconciling and in status.rollout', () => {
    const status = nextSetStatus(
      pvs,
      {
        kind: 'ready',
        reason: 'NoErrors',
        message: 'ok',
        summary,
        rollout: {
          currentStage: 'canary',
          released: ['fleet-a'],
          halted: true,
          complete: false,
          paused: false,
          message: 'halted: 1 failure',
        } as never,
      },
      T0,
    );
    expect(getCondition(status.conditions, 'Reconciling')).toMatchObject({ status: 'False', reason: 'RolloutHalted' });
    expect(status.rollout).toMatchObject({ currentStage: 'canary', halted: true });
    expect(setStatusChanged(status, JSON.parse(JSON.stringify(status)))).toBe(false);
  });
});
