import { describe, expect, it } from '@jest/globals';
import { API_VERSION, type PackageVariant } from '../api/v1alpha1/index.ts';
import { ConflictError, TerminalError } from './errors.ts';
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
    const got = await store.get('PackageVariant', { namespace: 'default', name: 'pv' });
    expect(got?.metadata).toMatchObject({ namespace: 'default', generation: 1, uid: expect.any(String) });
    got!.spec!.labels = { changed: 'yes' };
    expect((await store.get('PackageVariant', { namespace: 'default', name: 'pv' }))?.spec?.labels).toBeUndefined();
    expect(await store.list('PackageVariant', 'default', { matchLabels: { set: 'x' } })).toHaveLength(1);
    expect(await store.list('PackageVariant', 'other')).toHaveLength(0);
  });

  it('bumps generation on spec changes only, and keeps status on updates', async () => {
    const store = new LocalObjectStore([pv]);
    const key = { namespace: 'default', name: 'pv' };
    // Local mode has no resourceVersions.
    expect(
      await store.patchStatus('PackageVariant', (await store.get('PackageVariant', key))!, { observedGeneration: 1 }),
    ).toBeUndefined();
    const current = (await store.get('PackageVariant', key))!;
    await store.update('PackageVariant', { ...current, metadata: { ...current.metadata, labels: { a: 'b' } } });
    expect((await store.get('PackageVariant', key))?.metadata?.generation).toBe(1);
    await store.update('PackageVariant', { ...current, spec: { ...current.spec, labels: { a: 'b' } } });
    const updated = await store.get('PackageVariant', key);
    expect(updated?.metadata?.generation).toBe(2);
    expect(updated?.status).toEqual({ observedGeneration: 1 });
  });

  it('deletes an object with finalizers only once they are removed', async () => {
    const store = new LocalObjectStore([{ ...pv, metadata: { ...pv.metadata, finalizers: ['f'] } }]);
    const key = { namespace: 'default', name: 'pv' };
    await store.delete('PackageVariant', key);
    const marked = await store.get('PackageVariant', key);
    expect(marked?.metadata?.deletionTimestamp).toBeDefined();
    await store.setFinalizers('PackageVariant', marked!, []);
    expect(await store.get('PackageVariant', key)).toBeUndefined();
  });

  it('reads each stored kind by name, and stalls a variant on a refused Repository or Secret', async () => {
    const repo = { apiVersion: API_VERSION, kind: 'Repository', metadata: { name: 'r' }, spec: { git: { repo: 'x' } } };
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { password: 'cA==' } };
    const store = new LocalObjectStore(
      [repo, secret],
      [{ kind: 'Repository', namespace: 'default', name: 'bad', message: 'spec.git.repo: required' }],
    );
    expect((await store.get('Repository', { namespace: 'default', name: 'r' }))?.spec?.git?.repo).toBe('x');
    expect((await store.get('Secret', { namespace: 'default', name: 's' }))?.data).toEqual({ password: 'cA==' });
    expect(await store.list('Repository', 'default')).toHaveLength(1);
    expect(await store.get('PackageVariantSet', { namespace: 'default', name: 'r' })).toBeUndefined();
    const refused = store.get('Repository', { namespace: 'default', name: 'bad' });
    await expect(refused).rejects.toBeInstanceOf(TerminalError);
    await expect(refused).rejects.toMatchObject({ reason: 'InvalidRepository' });
  });

  it('refuses to create a duplicate (a conflict) and records events', async () => {
    const store = new LocalObjectStore([pv]);
    const duplicate = store.create('PackageVariant', pv);
    await expect(duplicate).rejects.toThrow(/already exists/);
    await expect(duplicate).rejects.toBeInstanceOf(ConflictError);
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
