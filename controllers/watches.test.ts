// Watches as data: which informer events enqueue which keys, and the usage index behind them.
import { describe, expect, it } from '@jest/globals';
import {
  RECONCILE_REQUEST_ANNOTATION,
  type KubeObject,
  type PackageVariant,
  type Repository,
} from '../api/v1alpha1/index.ts';
import type { InformerEvent } from '../lib/kube/informer.ts';
import { registerWatches, specAndMetadata, UsageIndex, type WatchedInformer } from './watches.ts';

class FakeInformer implements WatchedInformer {
  private readonly handlers = new Map<InformerEvent, Array<(obj: KubeObject) => void>>();
  on(event: InformerEvent, handler: (obj: KubeObject) => void) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
  }
  emit(event: InformerEvent, obj: KubeObject) {
    for (const handler of this.handlers.get(event) ?? []) handler(obj);
  }
}

const pv = (
  name: string,
  spec: PackageVariant['spec'],
  meta: Partial<NonNullable<PackageVariant['metadata']>> = {},
): PackageVariant => ({
  apiVersion: 'packagevariant.dev/v1alpha1',
  kind: 'PackageVariant',
  metadata: { name, namespace: 'ns', generation: 1, ...meta },
  spec,
});
const repo = (name: string, secret?: string): Repository => ({
  apiVersion: 'packagevariant.dev/v1alpha1',
  kind: 'Repository',
  metadata: { name, namespace: 'ns' },
  spec: {
    type: 'git',
    git: { repo: `https://example.com/${name}.git`, ...(secret ? { secretRef: { name: secret } } : {}) },
  },
});
const secret = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'ns' },
});

describe('registerWatches', () => {
  it('an update whose fingerprint did not change (a status write) is no news; adds, spec, metadata and deletes are', () => {
    const informer = new FakeInformer();
    const queued: string[] = [];
    registerWatches(
      [{ name: 'variants', informer, fingerprint: specAndMetadata, keys: (o) => [o.metadata!.name!] }],
      (k) => queued.push(k),
    );
    const a = pv('a', {});
    informer.emit('add', a);
    informer.emit('update', { ...a, status: { observedGeneration: 1 } });
    informer.emit('update', pv('a', {}, { generation: 2 }));
    informer.emit('update', pv('a', {}, { generation: 2, annotations: { hold: 'x' } }));
    informer.emit('delete', pv('a', {}, { generation: 2, annotations: { hold: 'x' } }));
    expect(queued).toEqual(['a', 'a', 'a', 'a']);
  });

  it('lets a reconcile request through (a new reconcile-requested-at value), not the status that records it', () => {
    const informer = new FakeInformer();
    const queued: string[] = [];
    registerWatches(
      [{ name: 'variants', informer, fingerprint: specAndMetadata, keys: (o) => [o.metadata!.name!] }],
      (k) => queued.push(k),
    );
    const requested = (at: string, status = {}) => ({
      ...pv('a', {}, { generation: 1, annotations: { [RECONCILE_REQUEST_ANNOTATION]: at } }),
      status,
    });
    informer.emit('add', pv('a', {}, { generation: 1 }));
    informer.emit('update', requested('2026-12-01T10:00:00Z'));
    informer.emit('update', requested('2026-12-01T10:00:00Z', { lastHandledReconcileAt: '2026-12-01T10:00:00Z' }));
    informer.emit('update', requested('2026-12-01T10:05:00Z', { lastHandledReconcileAt: '2026-12-01T10:00:00Z' }));
    expect(queued).toEqual(['a', 'a', 'a']);
  });
});

describe('UsageIndex', () => {
  it('finds the variants of a Repository, and of a Secret through its Repositories or spec.upstream.git', () => {
    const index = new UsageIndex();
    index.variant(
      'add',
      pv('east', { upstream: { repo: 'blueprints', package: 'web' }, downstream: { repo: 'deploy', package: 'east' } }),
    );
    index.variant(
      'add',
      pv('west', { upstream: { repo: 'blueprints', package: 'web' }, downstream: { repo: 'other', package: 'west' } }),
    );
    index.variant(
      'add',
      pv('direct', {
        upstream: { git: { repo: 'https://x/y.git', secretRef: { name: 'token' } } },
        downstream: { repo: 'other', package: 'd' },
      }),
    );
    index.repository('add', repo('deploy', 'creds'));
    expect(index.usersOfRepository(repo('blueprints')).sort()).toEqual(['ns/east', 'ns/west']);
    expect(index.usersOfSecret(secret('creds'))).toEqual(['ns/east']);
    expect(index.usersOfSecret(secret('token'))).toEqual(['ns/direct']);
    // A spec change moves the variant; a delete forgets it; a Repository's secretRef change moves it too.
    index.variant(
      'update',
      pv('east', { upstream: { repo: 'blueprints', package: 'web' }, downstream: { repo: 'other', package: 'east' } }),
    );
    expect(index.usersOfSecret(secret('creds'))).toEqual([]);
    index.repository('update', repo('other', 'creds'));
    expect(index.usersOfSecret(secret('creds')).sort()).toEqual(['ns/direct', 'ns/east', 'ns/west']);
    index.variant('delete', pv('west', {}));
    expect(index.usersOfRepository(repo('blueprints'))).toEqual(['ns/east']);
  });
});
