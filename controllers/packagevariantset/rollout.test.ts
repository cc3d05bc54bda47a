// Rollout gating: variant states from status, stages, maxConcurrent, failure budget, pause.
import { describe, expect, it } from '@jest/globals';
import type { Condition, PackageVariant, PackageVariantStatus } from '../../api/v1alpha1/index.ts';
import { planRollout, variantState, type RolloutMember, type VariantState } from './rollout.ts';

const T = '2026-01-01T00:00:00Z';
const cond = (type: string, status: Condition['status'], reason: string): Condition => ({
  type,
  status,
  reason,
  message: '',
  lastTransitionTime: T,
});
const pv = (status?: PackageVariantStatus, generation = 1): PackageVariant => ({
  metadata: { name: 'v', generation },
  ...(status ? { status } : {}),
});

describe('variantState', () => {
  it('reads the state of a variant from its status', () => {
    const ok = [cond('Ready', 'True', 'NoErrors'), cond('Stalled', 'False', 'Valid')];
    expect(variantState(undefined)).toBe('waiting');
    expect(variantState(pv())).toBe('waiting');
    expect(variantState(pv({ observedGeneration: 1, conditions: ok }, 2))).toBe('waiting');
    expect(variantState(pv({ observedGeneration: 1, conditions: ok }))).toBe('upToDate');
    expect(variantState(pv({ observedGeneration: 1, conditions: [cond('Ready', 'True', 'UpgradeHeld')] }))).toBe(
      'waiting',
    );
    expect(
      variantState(
        pv({ observedGeneration: 1, conditions: ok, downstreamTargets: [{ name: 'd', lifecycle: 'Proposed' }] }),
      ),
    ).toBe('draftPending');
    const conflicts = [{ file: 'f', resource: 'r', field: 'x', winner: 'upstream' as const }];
    expect(
      variantState(
        pv({
          observedGeneration: 1,
          conditions: ok,
          downstreamTargets: [{ name: 'd', lifecycle: 'Draft', conflicts }],
        }),
      ),
    ).toBe('conflicted');
    expect(variantState(pv({ observedGeneration: 1, conditions: [cond('Ready', 'False', 'MergeConflicts')] }))).toBe(
      'conflicted',
    );
    expect(variantState(pv({ observedGeneration: 1, conditions: [cond('Ready', 'False', 'Error')] }))).toBe('failed');
    // Suspended by a person: waiting, not failed (it does not halt the rollout).
    expect(variantState(pv({ observedGeneration: 1, conditions: [cond('Ready', 'False', 'Suspended')] }))).toBe(
      'waiting',
    );
    expect(
      variantState(pv({ observedGeneration: 1, conditions: [...ok.slice(0, 1), cond('Stalled', 'True', 'X')] })),
    ).toBe('failed');
  });
});

const members = (spec: Record<string, [string, VariantState]>): RolloutMember[] =>
  Object.entries(spec).map(([name, [tier, state]]) => ({
    name,
    labels: tier ? { tier } : ({} as Record<string, string>),
    state,
  }));
const stages = [
  { name: 'canary', selector: { matchLabels: { tier: 'canary' } } },
  { name: 'prod', selector: { matchLabels: { tier: 'prod' } } },
];

describe('planRollout', () => {
  it('releases nothing and holds nothing without a rollout', () => {
    const plan = planRollout('s', undefined, members({ a: ['prod', 'waiting'] }));
    expect(plan.holds.size).toBe(0);
  });

  it('one stage when none are given; maxConcurrent counts drafts in flight, conflicts and failures', () => {
    const plan = planRollout(
      's',
      { maxConcurrent: 3, maxFailures: 5 },
      members({
        a: ['', 'draftPending'],
        b: ['', 'conflicted'],
        c: ['', 'waiting'],
        d: ['', 'waiting'],
        e: ['', 'upToDate'],
      }),
    );
    expect(plan.currentStage).toBe('all');
    expect(plan.released).toEqual(['a', 'b', 'c']);
    expect([...plan.holds.keys()].sort()).toEqual(['d', 'e']);
    expect(plan.message).toBe('stage "all" (1/1): 1/5 up to date, 2 in flight, 2 waiting');
  });

  it('a variant released earlier keeps its slot until it starts, so maxConcurrent holds between reconciles', () => {
    const fleet = members({ a: ['', 'waiting'], b: ['', 'waiting'], c: ['', 'waiting'] });
    fleet.find((m) => m.name === 'c')!.unheld = true;
    const plan = planRollout('s', { maxConcurrent: 1 }, fleet);
    expect(plan.released).toEqual(['c']);
    expect(plan.holds.get('a')).toBe(
      'the rollout of PackageVariantSet s: stage "all" has 1 variant(s) in flight (maxConcurrent)',
    );
  });

  it('moves to the next stage once a stage is up to date; unselected variants form a last stage', () => {
    const plan = planRollout(
      's',
      { stages },
      members({ c1: ['canary', 'upToDate'], p1: ['prod', 'upToDate'], x: ['lab', 'waiting'] }),
    );
    expect(plan.currentStage).toBe('unstaged');
    expect(plan.released).toEqual(['x']);
  });

  it('is complete when everything is up to date, holding all until the next revision shows up', () => {
    const plan = planRollout('s', { stages }, members({ c1: ['canary', 'upToDate'], p1: ['prod', 'upToDate'] }));
    expect(plan).toMatchObject({ complete: true, released: [], message: 'complete: 2 variant(s) up to date' });
    expect(plan.holds.get('c1')).toBe(
      'the rollout of PackageVariantSet s starts the next upstream revision in stage "canary"',
    );
  });

  it('a failure budget: failures up to maxFailures keep the rollout going, one more halts it', () => {
    const fleet = members({ c1: ['canary', 'failed'], c2: ['canary', 'waiting'], c3: ['canary', 'waiting'] });
    expect(planRollout('s', { stages, maxFailures: 1 }, fleet)).toMatchObject({
      halted: false,
      released: ['c1', 'c2', 'c3'],
    });
    const halted = planRollout('s', { stages, maxFailures: 0 }, fleet);
    expect(halted).toMatchObject({ halted: true, released: ['c1'] });
    expect(halted.message).toBe('halted: 1 failed variant(s) exceed maxFailures 0: c1');
  });

  it('pause keeps in-flight variants going and starts nothing new', () => {
    const plan = planRollout(
      's',
      { stages, paused: true },
      members({ c1: ['canary', 'draftPending'], c2: ['canary', 'waiting'], p1: ['prod', 'draftPending'] }),
    );
    expect(plan).toMatchObject({ paused: true, released: ['c1'], message: 'paused' });
    expect(plan.holds.get('c2')).toBe('the rollout of PackageVariantSet s is paused');
    // A draft in a later stage (made before the rollout existed) is not released.
    expect(plan.holds.has('p1')).toBe(true);
  });
});

describe('status messages', () => {
  it('are capped for large fleets', async () => {
    const { capMessage } = await import('./status.ts');
    expect(capMessage('short')).toBe('short');
    const long = capMessage('x'.repeat(10_000));
    expect(long).toHaveLength(2048);
    expect(long.endsWith('… (truncated)')).toBe(true);
  });
});
