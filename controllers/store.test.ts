import { describe, expect, it } from '@jest/globals';
import { API_VERSION, type PackageVariant } from '../api/v1alpha1/index.ts';
import { LocalObjectStore } from './local-store.ts';
import { matchesSelector, parseKey, keyString } from './store.ts';

describe('matchesSelector', () => {
  const labels = { tier: 'edge', region: 'east' };
  it('implements matchLabels and every matchExpressions operator', () => {
    expect(matchesSelector(labels, undefined)).toBe(true);
    expect(matchesSelector(labels, {})).toBe(true);
    expect(matchesSelector(labels, { matchLabels: { tier: 'edge' } })).toBe(true);
    expect(matchesSelector(labels, { matchLabels: { tier: 'core' } })).toBe(false);
    expect(
      matchesSelector(labels, { matchExpressions: [{ key: 'region', operator: 'In', values: ['east', 'west'] }] }),
    ).toBe(true);
    expect(
      matchesSelector(labels, { matchExpressions: [{ key: 'region', operator: 'NotIn', values: ['east'] }] }),
    ).toBe(false);
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] })).toBe(
      true,
    );
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'tier', operator: 'Exists' }] })).toBe(true);
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] })).toBe(false);
    expect(matchesSelector(undefined, { matchExpressions: [{ key: 'tier', operator: 'In', values: ['edge'] }] })).toBe(
      false,
    );
  });
});

describe('object keys', () => {
  it('round-trips namespace/name', () => {
    expect(parseKey(keyString({ namespace: 'ns', name: 'a.b' }))).toEqual({ namespace: 'ns', name: 'a.b' });
  });
});

describe('LocalObjectStore', () => {
  const pv: PackageVariant = {
    apiVersion: API_VERSION,
    kind: 'PackageVariant',
    metadata: { name: 'pv', labels: { set: 'x' } },
    spec: { upstream: { repo: 'u', package: 'p' }, downstream: { repo: 'd', package: 'p' } },
  };

  it('fills in server metadata and hands out copies', async () => {
    const store = new LocalObjectStore([pv]);
    const got = await store.getPackageVariant({ namespace: 'default', name: 'pv' });
    expect(got?.metadata).toMatchObject({ namespace: 'default', generation: 1, uid: expect.any(String) });
    got!.spec!.labels = { changed: 'yes' };
    expect((await store.getPackageVariant({ namespace: 'default', name: 'pv' }))?.spec?.labels).toBeUndefined();
    expect(await store.listPackageVariants('default', { matchLabels: { set: 'x' } })).toHaveLength(1);
    expect(await store.listPackageVariants('other')).toHaveLength(0);
  });

  it('bumps generation on spec changes only, and keeps status on updates', async () => {
    const store = new LocalObjectStore([pv]);
    const key = { namespace: 'default', name: 'pv' };
    await store.writePackageVariantStatus((await store.getPackageVariant(key))!, { observedGeneration: 1 });
    const current = (await store.getPackageVariant(key))!;
    await store.updatePackageVariant({ ...current, metadata: { ...current.metadata, labels: { a: 'b' } } });
    expect((await store.getPackageVariant(key))?.metadata?.generation).toBe(1);
    await store.updatePackageVariant({ ...current, spec: { ...current.spec, labels: { a: 'b' } } });
    const updated = await store.getPackageVariant(key);
    expect(updated?.metadata?.generation).toBe(2);
    expect(updated?.status).toEqual({ observedGeneration: 1 });
  });

  it('deletes an object with finalizers only once they are removed', async () => {
    const store = new LocalObjectStore([{ ...pv, metadata: { ...pv.metadata, finalizers: ['f'] } }]);
    const key = { namespace: 'default', name: 'pv' };
    await store.deletePackageVariant(key);
    const marked = await store.getPackageVariant(key);
    expect(marked?.metadata?.deletionTimestamp).toBeDefined();
    await store.setPackageVariantFinalizers(marked!, []);
    expect(await store.getPackageVariant(key)).toBeUndefined();
  });

  it('refuses to create a duplicate and records events', async () => {
    const store = new LocalObjectStore([pv]);
    await expect(store.createPackageVariant(pv)).rejects.toThrow(/already exists/);
    store.recordEvent(pv, { type: 'Normal', reason: 'DraftCreated', message: 'm' });
    expect(store.events).toEqual([
      {
        kind: 'PackageVariant',
        namespace: 'default',
        name: 'pv',
        type: 'Normal',
        reason: 'DraftCreated',
        message: 'm',
      },
    ]);
  });
});
