// planSetChanges as a table: which generated variants a set creates, updates, keeps and deletes, from
// plain objects (no API).
import { describe, expect, it } from '@jest/globals';
import { ROLLOUT_HOLD_ANNOTATION, type PackageVariant, type PackageVariantSet } from '../../api/v1alpha1/index.ts';
import { planSetChanges, type DesiredVariant } from './plan.ts';

const set = (rollout?: NonNullable<PackageVariantSet['spec']>['rollout']): PackageVariantSet => ({
  apiVersion: 'packagevariant.dev/v1alpha1',
  kind: 'PackageVariantSet',
  metadata: { name: 'fleet', namespace: 'ns', uid: 'set-uid' },
  spec: { ...(rollout ? { rollout } : {}) },
});
const spec = (repo: string, labels: Record<string, string> = {}) => ({
  upstream: { repo: 'blueprints', package: 'web' },
  downstream: { repo, package: 'web' },
  labels,
});
const desired = (repo: string, labels: Record<string, string> = {}): DesiredVariant => ({
  identity: `fleet-${repo}-web`,
  name: `fleet-${repo}-web`,
  spec: spec(repo, labels),
  labels: {},
  source: repo,
});
const existing = (
  repo: string,
  over: Partial<NonNullable<PackageVariant['metadata']>> = {},
  labels = {},
): PackageVariant => ({
  apiVersion: 'packagevariant.dev/v1alpha1',
  kind: 'PackageVariant',
  metadata: { name: `fleet-${repo}-web`, namespace: 'ns', ...over },
  spec: spec(repo, labels),
});
const writes = (changes: ReturnType<typeof planSetChanges>) =>
  changes.variants.map((c) => `${c.write} ${c.variant.metadata!.name}`);

describe('planSetChanges', () => {
  it('creates the missing variants, owned by the set, with its label and the finalizer', () => {
    const changes = planSetChanges(set(), [desired('east'), desired('west')], []);
    expect(writes(changes)).toEqual(['create fleet-east-web', 'create fleet-west-web']);
    expect(changes.variants[0]!.variant.metadata).toMatchObject({
      labels: { 'packagevariant.dev/packagevariantset': 'set-uid' },
      finalizers: ['packagevariant.dev/packagevariants'],
      ownerReferences: [expect.objectContaining({ kind: 'PackageVariantSet', name: 'fleet', controller: true })],
    });
    expect(changes.deletes).toEqual([]);
  });

  it('keeps an unchanged variant, updates one whose spec changed, deletes a retargeted one', () => {
    const changes = planSetChanges(
      set(),
      [desired('east'), desired('west', { tier: 'gold' })],
      [existing('east'), existing('west'), existing('gone')],
    );
    expect(writes(changes)).toEqual(['none fleet-east-web', 'update fleet-west-web']);
    expect(changes.variants[1]!.variant.spec?.labels).toEqual({ tier: 'gold' });
    expect(changes.deletes).toEqual(['fleet-gone-web']);
  });

  it('a duplicate of one identity is deleted; a terminating variant holds its name (wait)', () => {
    const duplicate = { ...existing('east'), metadata: { name: 'fleet-east-web-2', namespace: 'ns' } };
    const changes = planSetChanges(
      set(),
      [desired('east'), desired('west')],
      [existing('east'), duplicate, existing('west', { deletionTimestamp: '2026-01-01T00:00:00Z' })],
    );
    expect(changes.deletes).toEqual(['fleet-east-web-2']);
    expect(writes(changes)).toEqual(['none fleet-east-web']);
    expect(changes.terminating).toBe(true);
  });

  it('a paused rollout holds new variants; the rollout publish policy reaches their specs', () => {
    const changes = planSetChanges(set({ paused: true, publishPolicy: 'Automatic' }), [desired('east')], []);
    const created = changes.variants[0]!.variant;
    expect(created.metadata?.annotations?.[ROLLOUT_HOLD_ANNOTATION]).toBeTruthy();
    expect(created.spec?.publishPolicy).toBe('Automatic');
    expect(changes.plan.paused).toBe(true);
  });

  it("keeps a person's spec.suspend on a generated variant (pvctl suspend pvar), whatever the template says", () => {
    const suspended = { ...existing('east'), spec: { ...spec('east'), suspend: true } };
    const kept = planSetChanges(set(), [desired('east')], [suspended]);
    expect(writes(kept)).toEqual(['none fleet-east-web']);
    const updated = planSetChanges(set(), [desired('east', { tier: 'gold' })], [suspended]);
    expect(writes(updated)).toEqual(['update fleet-east-web']);
    expect(updated.variants[0]!.variant.spec).toMatchObject({ suspend: true, labels: { tier: 'gold' } });
  });
});
