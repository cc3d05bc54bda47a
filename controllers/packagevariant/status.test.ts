// nextStatus: the conditions, observedGeneration and targets a PackageVariant reconcile writes.
import { describe, expect, it } from '@jest/globals';
import type { PackageVariant } from '../../api/v1alpha1/index.ts';
import { getCondition } from '../../lib/kube/conditions.ts';
import { nextStatus, statusChanged } from './status.ts';

const pv = (status?: PackageVariant['status']): PackageVariant => ({
  apiVersion: 'packagevariant.dev/v1alpha1',
  kind: 'PackageVariant',
  metadata: { name: 'east', namespace: 'default', generation: 3 },
  spec: {},
  ...(status ? { status } : {}),
});
const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:05:00Z';
const target = { name: 'deploy.east.packagevariant-1', lifecycle: 'Draft' as const };

describe('nextStatus', () => {
  it('ready: Ready True, Stalled False, Reconciling False, observedGeneration, the targets', () => {
    const status = nextStatus(pv(), { kind: 'ready', reason: 'NoErrors', message: 'ok', targets: [target] }, T0);
    expect(status.observedGeneration).toBe(3);
    expect(status.downstreamTargets).toEqual([target]);
    const c = (type: string) => getCondition(status.conditions, type);
    expect(c('Ready')).toMatchObject({ status: 'True', reason: 'NoErrors', observedGeneration: 3 });
    expect(c('Stalled')).toMatchObject({ status: 'False', reason: 'Valid' });
    expect(c('Reconciling')).toMatchObject({ status: 'False', reason: 'Reconciled' });
    expect(status.conditions?.map((x) => x.type)).toEqual(['Ready', 'Reconciling', 'Stalled']);
  });

  it('stalled: Stalled True with the reason, Ready False, nothing to retry; targets kept from before', () => {
    const before = nextStatus(pv(), { kind: 'ready', reason: 'NoErrors', message: 'ok', targets: [target] }, T0);
    const status = nextStatus(pv(before), { kind: 'stalled', reason: 'UpstreamNotFound', message: 'gone' }, T1);
    expect(getCondition(status.conditions, 'Stalled')).toMatchObject({ status: 'True', reason: 'UpstreamNotFound' });
    expect(getCondition(status.conditions, 'Ready')).toMatchObject({ status: 'False', message: 'gone' });
    expect(getCondition(status.conditions, 'Reconciling')).toMatchObject({
      status: 'False',
      reason: 'UpstreamNotFound',
    });
    expect(status.downstreamTargets).toEqual([target]);
  });

  it('error: Reconciling True (Retrying), Ready False; a transition time changes only when a status flips', () => {
    const first = nextStatus(pv(), { kind: 'error', reason: 'Error', message: 'push refused' }, T0);
    expect(getCondition(first.conditions, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Retrying' });
    const again = nextStatus(pv(first), { kind: 'error', reason: 'Error', message: 'still refused' }, T1);
    expect(getCondition(again.conditions, 'Ready')?.lastTransitionTime).toBe(T0);
    const healed = nextStatus(pv(again), { kind: 'ready', reason: 'NoErrors', message: 'ok' }, T1);
    expect(getCondition(healed.conditions, 'Ready')?.lastTransitionTime).toBe(T1);
  });

  it('statusChanged ignores key order and sees any difference', () => {
    const a = nextStatus(pv(), { kind: 'ready', reason: 'NoErrors', message: 'ok' }, T0);
    const reordered = JSON.parse(
      JSON.stringify({ conditions: a.conditions, observedGeneration: a.observedGeneration }),
    );
    expect(statusChanged(a, reordered)).toBe(false);
    expect(statusChanged(a, { ...a, observedGeneration: 4 })).toBe(true);
    expect(statusChanged(undefined, a)).toBe(true);
  });
});
