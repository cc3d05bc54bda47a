// LeaderElector against the real API server: one leader among candidates, release on stop hands
// over at once, a lease stamped by a skewed clock is judged on our clock, and a lease taken by
// someone else ends our leadership.
import { afterEach, describe, expect, it } from '@jest/globals';
import type { V1Lease } from '@kubernetes/client-node';
import { LeaderElector, type ElectionOutcome } from '../lib/kube/leader-election.ts';
import { microTime } from '../lib/kube/time.ts';
import { adminClients, eventually, useTestNamespace } from './helpers.ts';

const LEASE = 'pv-leader';
const TIMING = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 250 };
const SIX_DIGITS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

describe('LeaderElector (Lease, real API server)', () => {
  const namespace = useTestNamespace();
  const electors: LeaderElector[] = [];
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.stop()));
  });

  const candidate = (identity: string, timing = TIMING) => {
    const elector = new LeaderElector({
      coordination: adminClients().coordination,
      namespace: namespace(),
      name: LEASE,
      identity,
      timing,
    });
    electors.push(elector);
    const changes: boolean[] = [];
    elector.onLeadershipChange((leading) => changes.push(leading));
    const outcome: Promise<ElectionOutcome> = elector.run();
    return { elector, changes, outcome };
  };
  const readLease = () => adminClients().coordination.readNamespacedLease({ namespace: namespace(), name: LEASE });
  const wire = (lease: V1Lease, field: 'acquireTime' | 'renewTime') => String(lease.spec?.[field] as unknown);

  it('elects exactly one of three candidates, renews with MicroTime, and hands over at once on release', async () => {
    // A long lease, so that a successor arriving within it shows the release, not an expiry.
    const timing = { ...TIMING, leaseDurationMs: 30_000 };
    const candidates = ['a', 'b', 'c'].map((id) => candidate(id, timing));
    const leader = await eventually(() => {
      const leading = candidates.filter((c) => c.elector.isLeader());
      if (leading.length !== 1) throw new Error(`${leading.length} leaders`);
      return leading[0]!;
    }, 10_000);
    // Several renewals later there is still one leader, and it is the one named in the lease.
    await new Promise((r) => setTimeout(r, 8 * TIMING.retryPeriodMs));
    expect(candidates.filter((c) => c.elector.isLeader())).toEqual([leader]);
    const lease = await readLease();
    expect(lease.spec?.holderIdentity).toBe(leader.elector.identity);
    expect(lease.spec?.leaseDurationSeconds).toBe(30);
    expect(wire(lease, 'renewTime')).toMatch(SIX_DIGITS);
    expect(wire(lease, 'acquireTime')).toMatch(SIX_DIGITS);
    expect(Date.parse(wire(lease, 'renewTime'))).toBeGreaterThan(Date.parse(wire(lease, 'acquireTime')));
    const transitions = lease.spec?.leaseTransitions ?? 0;

    const stoppedAt = performance.now();
    await leader.elector.stop();
    expect(await leader.outcome).toBe('stopped');
    expect(leader.changes).toEqual([true, false]);
    const successor = await eventually(() => {
      const next = candidates.find((c) => c !== leader && c.elector.isLeader());
      if (!next) throw new Error('no successor yet');
      return next;
    }, 20_000);
    // Released, not expired: the successor did not wait out the lease duration.
    expect(performance.now() - stoppedAt).toBeLessThan(timing.leaseDurationMs);
    const after = await readLease();
    expect(after.spec?.holderIdentity).toBe(successor.elector.identity);
    expect(after.spec?.leaseTransitions).toBe(transitions + 1);
  });

  it('judges a lease stamped by a skewed clock on its own clock, and counts the takeover', async () => {
    // Another host's lease whose renewTime is an hour behind our wall clock: it looks long expired,
    // but we have only just seen it, so we wait a lease duration for it to change.
    await adminClients().coordination.createNamespacedLease({
      namespace: namespace(),
      body: {
        metadata: { name: LEASE },
        spec: {
          holderIdentity: 'skewed-host',
          leaseDurationSeconds: 2,
          acquireTime: microTime(Date.now() - 3_600_000),
          renewTime: microTime(Date.now() - 3_600_000),
          leaseTransitions: 4,
        },
      },
    });
    const started = performance.now();
    const me = candidate('me');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(me.elector.isLeader()).toBe(false);
    await eventually(() => expect(me.elector.isLeader()).toBe(true), 10_000, 50);
    expect(performance.now() - started).toBeGreaterThanOrEqual(TIMING.leaseDurationMs);
    const lease = await readLease();
    expect(lease.spec?.holderIdentity).toBe('me');
    expect(lease.spec?.leaseTransitions).toBe(5);
  });

  it('loses leadership when another holder writes the lease', async () => {
    const me = candidate('me');
    await eventually(() => expect(me.elector.isLeader()).toBe(true), 10_000, 50);
    const lease = await readLease();
    await adminClients().coordination.replaceNamespacedLease({
      namespace: namespace(),
      name: LEASE,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'usurper', renewTime: microTime() } },
    });
    expect(await me.outcome).toBe('lost');
    expect(me.changes).toEqual([true, false]);
    expect(me.elector.isLeader()).toBe(false);
    // Stopping after a loss leaves the other holder's lease alone.
    await me.elector.stop();
    expect((await readLease()).spec?.holderIdentity).toBe('usurper');
  });
});
