// nextStatus: the conditions, observedGeneration and targets a PackageVariant reconcile writes.
import { describe, expect, it } from '@jest/globals';
import type { PackageVariant } from '../../api/v1alpha1/index.ts';
import { getCondition } from '../../lib/kube/conditions.ts';
import { nextStatus, statusChanged, upstreamStatus } from './status.ts';

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

describe('upstreamStatus (status.upstream)', () => {
  const commit = (n: number) => String(n).repeat(40);
  const tag = (n: number) => ({ ref: `refs/tags/nginx/v${n}`, commit: commit(n), revision: n });
  const revisions = [tag(1), tag(2), tag(3), tag(4)];
  const times = new Map([
    [commit(2), '2026-01-02T00:00:00Z'],
    [commit(4), '2026-01-04T00:00:00Z'],
    ['b'.repeat(40), '2026-01-05T00:00:00Z'],
  ]);
  /** The upstream followed now: published revision `n`, or (no n) branch main at commit b…. */
  const upstream = (n?: number) => ({
    commit: n ? commit(n) : 'b'.repeat(40),
    revision: n,
    lock: { repo: 'file:///blueprints', directory: 'nginx', ref: n ? `nginx/v${n}` : 'main', commit: '' },
  });
  const observed = (
    n: number | undefined,
    published?: { commit: string; current: boolean; ref?: string },
    lock?: { commit: string; current: boolean },
  ) =>
    ({
      upstream: { ...upstream(n), ...(n ? {} : { revision: undefined }) },
      upstreamHistory: { revisions: n ? revisions : [], times, ...(published ? { published } : {}) },
      ...(lock ? { lock } : {}),
    }) as unknown as Parameters<typeof upstreamStatus>[0];

  it.each([
    {
      name: 'nothing published yet: only latest',
      o: observed(3),
      want: { latest: { ref: 'nginx/v3', revision: 3, commit: commit(3) } },
    },
    {
      name: 'published at the revision followed: up to date',
      o: observed(3, { commit: commit(3), current: true, ref: 'nginx/v3' }),
      want: {
        latest: { ref: 'nginx/v3', revision: 3, commit: commit(3) },
        locked: { ref: 'nginx/v3', revision: 3, commit: commit(3) },
        behind: 0,
      },
    },
    {
      name: 'locked to v1, v4 followed: behind 3 since v2 was published',
      o: observed(4, { commit: commit(1), current: false, ref: 'nginx/v1' }),
      want: {
        latest: { ref: 'nginx/v4', revision: 4, commit: commit(4) },
        locked: { ref: 'nginx/v1', revision: 1, commit: commit(1) },
        behind: 3,
        behindSince: '2026-01-02T00:00:00Z',
      },
    },
    {
      name: 'pinned to v2 while v4 exists, locked to v1: behind 1 (only up to the pin)',
      o: observed(2, { commit: commit(1), current: false }),
      want: { locked: { ref: 'nginx/v1', revision: 1 }, behind: 1, behindSince: '2026-01-02T00:00:00Z' },
    },
    {
      name: 'an identical package tree at another revision is up to date',
      o: observed(4, { commit: commit(3), current: true }),
      want: { locked: { revision: 3 }, behind: 0 },
    },
    {
      name: 'pin moved back (locked to v4, v2 followed, trees differ): behind 1, since the followed revision',
      o: observed(2, { commit: commit(4), current: false }),
      want: { locked: { revision: 4 }, behind: 1, behindSince: '2026-01-02T00:00:00Z' },
    },
    {
      name: 'followed on a branch, the package changed: behind 1 since the branch commit',
      o: observed(undefined, { commit: 'a'.repeat(40), current: false, ref: 'main' }),
      want: {
        latest: { ref: 'main', commit: 'b'.repeat(40) },
        locked: { ref: 'main', commit: 'a'.repeat(40) },
        behind: 1,
        behindSince: '2026-01-05T00:00:00Z',
      },
    },
    {
      name: 'a lock that is no published revision, time unknown: behind 1 without behindSince',
      o: observed(3, { commit: 'c'.repeat(40), current: false }),
      want: { locked: { commit: 'c'.repeat(40) }, behind: 1 },
    },
  ])('$name', ({ o, want }) => {
    const status = upstreamStatus(o);
    expect(status).toMatchObject(want);
    if (!('behindSince' in want)) expect(status).not.toHaveProperty('behindSince');
    if (!('locked' in want)) expect(status).not.toHaveProperty('behind');
  });

  it('a revision published in this reconcile is the lock: its draft was made at the upstream followed now', () => {
    const o = observed(4, { commit: commit(1), current: false }, { commit: commit(4), current: true });
    expect(upstreamStatus(o)).toMatchObject({ behind: 3 });
    expect(upstreamStatus(o, commit(4))).toEqual({
      latest: { ref: 'nginx/v4', revision: 4, commit: commit(4) },
      locked: { ref: 'nginx/v4', revision: 4, commit: commit(4) },
      behind: 0,
    });
    // An edit draft published while its upgrade is held: locked to the draft's (older) lock.
    const held = observed(4, { commit: commit(1), current: false }, { commit: commit(2), current: false });
    expect(upstreamStatus(held, commit(2))).toMatchObject({ locked: { revision: 2 }, behind: 2 });
  });

  it('nextStatus records it, and keeps the one recorded before when a reconcile could not look', () => {
    const upstream = { latest: { commit: commit(2), revision: 2 }, locked: { commit: commit(1) }, behind: 1 };
    const first = nextStatus(pv(), { kind: 'ready', reason: 'NoErrors', message: 'ok', upstream }, T0);
    expect(first.upstream).toEqual(upstream);
    const failed = nextStatus(pv(first), { kind: 'error', reason: 'Error', message: 'fetch failed' }, T1);
    expect(failed.upstream).toEqual(upstream);
    expect(nextStatus(pv(), { kind: 'ready', reason: 'NoErrors', message: 'ok' }, T0)).not.toHaveProperty('upstream');
  });
});
