import { describe, expect, it } from '@jest/globals';
import type { V1Lease } from '@kubernetes/client-node';
import { microTime, parseMicroTime } from '../lib/kube/time.ts';
import { adminClients, useTestNamespace } from './helpers.ts';

const SIX_DIGITS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

describe('Lease with V1MicroTime', () => {
  const namespace = useTestNamespace();

  it('creates a Lease and renews it, keeping microsecond timestamps', async () => {
    const { coordination } = adminClients();
    const acquired = new Date(Date.now() - 1000);
    const created = await coordination.createNamespacedLease({
      namespace: namespace(),
      body: {
        metadata: { name: 'packagevariant-controller' },
        spec: {
          holderIdentity: 'pod-a_1234',
          leaseDurationSeconds: 15,
          acquireTime: microTime(acquired),
          renewTime: microTime(acquired),
          leaseTransitions: 0,
        },
      },
    });
    // client-node hands MicroTime back as the string the server sent.
    const wire = (lease: V1Lease, field: 'acquireTime' | 'renewTime') => String(lease.spec?.[field] as unknown);
    expect(wire(created, 'renewTime')).toMatch(SIX_DIGITS);
    expect(parseMicroTime(wire(created, 'acquireTime')).getTime()).toBe(acquired.getTime());

    const renewedAt = new Date(acquired.getTime() + 750);
    const renewed = await coordination.replaceNamespacedLease({
      namespace: namespace(),
      name: 'packagevariant-controller',
      body: {
        ...created,
        spec: { ...created.spec, renewTime: microTime(renewedAt), acquireTime: microTime(acquired) },
      },
    });
    expect(parseMicroTime(wire(renewed, 'renewTime')).getTime()).toBe(renewedAt.getTime());
    expect(parseMicroTime(wire(renewed, 'acquireTime')).getTime()).toBe(acquired.getTime());
    expect(renewed.spec?.holderIdentity).toBe('pod-a_1234');
    expect(renewed.metadata?.resourceVersion).not.toBe(created.metadata?.resourceVersion);

    // A renewal based on the stale read loses the optimistic-concurrency race, as a second candidate would.
    await expect(
      coordination.replaceNamespacedLease({
        namespace: namespace(),
        name: 'packagevariant-controller',
        body: { ...created, spec: { ...created.spec, holderIdentity: 'pod-b_5678', renewTime: microTime() } },
      }),
    ).rejects.toMatchObject({ code: 409 });
  });

  it('rejects a plain Date (3 fractional digits) with 400, which is why microTime() exists', async () => {
    const { coordination } = adminClients();
    const create = coordination.createNamespacedLease({
      namespace: namespace(),
      body: { metadata: { name: 'plain-date' }, spec: { holderIdentity: 'x', renewTime: new Date() } },
    });
    await expect(create).rejects.toMatchObject({ code: 400 });
    await expect(create.catch((err: { body?: unknown }) => String(err.body))).resolves.toMatch(
      /2006-01-02T15:04:05\.000000Z07:00/,
    );
  });
});
