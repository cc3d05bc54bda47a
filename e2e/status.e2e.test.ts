import { describe, expect, it } from '@jest/globals';
import { mergePatch } from '../lib/kube/client.ts';
import { packageVariant } from './fixtures.ts';
import { adminClients, GROUP, useTestNamespace, VERSION } from './helpers.ts';

interface PV {
  metadata: { name: string; generation: number; resourceVersion: string };
  spec: { downstream: { package: string } };
  status?: { observedGeneration?: number; conditions?: { type: string; status: string; reason: string }[] };
}

describe('status subresource and metadata.generation', () => {
  const namespace = useTestNamespace();
  const ref = (name: string) => ({
    group: GROUP,
    version: VERSION,
    namespace: namespace(),
    plural: 'packagevariants',
    name,
  });

  const readyCondition = (generation: number) => ({
    type: 'Ready',
    status: 'True',
    reason: 'Synced',
    message: 'downstream is up to date',
    lastTransitionTime: '2026-01-01T00:00:00Z',
    observedGeneration: generation,
  });

  it('writes status with a merge patch to /status without bumping generation; spec changes bump it', async () => {
    const { customObjects } = adminClients();
    const created = (await customObjects.createNamespacedCustomObject({
      ...ref(''),
      body: packageVariant('gen'),
    })) as PV;
    expect(created.metadata.generation).toBe(1);
    expect(created.status).toBeUndefined();

    const withStatus = (await customObjects.patchNamespacedCustomObjectStatus(
      { ...ref('gen'), body: { status: { observedGeneration: 1, conditions: [readyCondition(1)] } } },
      mergePatch,
    )) as PV;
    expect(withStatus.metadata.generation).toBe(1);
    expect(withStatus.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);
    expect(withStatus.status?.observedGeneration).toBe(1);
    expect(withStatus.status?.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'True', reason: 'Synced' });

    const changedSpec = (await customObjects.patchNamespacedCustomObject(
      { ...ref('gen'), body: { spec: { downstream: { package: 'renamed' } } } },
      mergePatch,
    )) as PV;
    expect(changedSpec.metadata.generation).toBe(2);
    expect(changedSpec.spec.downstream.package).toBe('renamed');
    expect(changedSpec.status?.observedGeneration).toBe(1);

    const labelsOnly = (await customObjects.patchNamespacedCustomObject(
      { ...ref('gen'), body: { metadata: { labels: { touched: 'yes' } } } },
      mergePatch,
    )) as PV;
    expect(labelsOnly.metadata.generation).toBe(2);
  });

  it('ignores status in writes to the main resource and spec in writes to /status', async () => {
    const { customObjects } = adminClients();
    await customObjects.createNamespacedCustomObject({ ...ref(''), body: packageVariant('split') });

    const viaMain = (await customObjects.patchNamespacedCustomObject(
      { ...ref('split'), body: { status: { observedGeneration: 7 } } },
      mergePatch,
    )) as PV;
    expect(viaMain.status).toBeUndefined();

    const viaStatus = (await customObjects.patchNamespacedCustomObjectStatus(
      { ...ref('split'), body: { spec: { downstream: { package: 'ignored' } }, status: { observedGeneration: 1 } } },
      mergePatch,
    )) as PV;
    expect(viaStatus.spec.downstream.package).toBe('split-ns');
    expect(viaStatus.status?.observedGeneration).toBe(1);
    expect(viaStatus.metadata.generation).toBe(1);
  });

  it('rejects a status that violates the schema', async () => {
    const { customObjects } = adminClients();
    await customObjects.createNamespacedCustomObject({ ...ref(''), body: packageVariant('bad-status') });
    const bad = { ...readyCondition(1), status: 'Maybe' };
    await expect(
      customObjects.patchNamespacedCustomObjectStatus(
        { ...ref('bad-status'), body: { status: { conditions: [bad] } } },
        mergePatch,
      ),
    ).rejects.toMatchObject({ code: 422 });
  });
});
