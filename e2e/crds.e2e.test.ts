import { describe, expect, it } from '@jest/globals';
import { isEstablished, PROJECT_CRD_DIR, readCrds } from './testenv/crds.ts';
import { adminClients, GROUP, useTestNamespace, VERSION } from './helpers.ts';

describe('CRDs', () => {
  const namespace = useTestNamespace();
  const files = readCrds(PROJECT_CRD_DIR);
  const expected = files.map((crd) => crd.metadata?.name);

  it('installs every CRD of config/crd/bases and each is Established', async () => {
    const { apiextensions } = adminClients();
    expect(expected.sort()).toEqual([
      'packagevariants.packagevariant.dev',
      'packagevariantsets.packagevariant.dev',
      'repositories.packagevariant.dev',
    ]);
    for (const name of expected) {
      const crd = await apiextensions.readCustomResourceDefinition({ name: name ?? '' });
      expect(isEstablished(crd)).toBe(true);
      expect(crd.status?.conditions?.find((c) => c.type === 'NamesAccepted')?.status).toBe('True');
    }
  });

  it('stores the schemas exactly as written in the files (enums, list types, validations intact)', async () => {
    const { apiextensions } = adminClients();
    for (const file of files) {
      const stored = await apiextensions.readCustomResourceDefinition({ name: file.metadata?.name ?? '' });
      expect(stored.spec.names).toEqual(expect.objectContaining(file.spec.names));
      expect(stored.spec.versions.map((v) => v.schema)).toEqual(file.spec.versions.map((v) => v.schema));
      expect(stored.spec.versions.map((v) => v.subresources)).toEqual(file.spec.versions.map((v) => v.subresources));
    }
  });

  it('serves each kind, with its short names, in a namespace', async () => {
    const { customObjects, apiextensions } = adminClients();
    for (const plural of ['packagevariants', 'packagevariantsets', 'repositories']) {
      const list = (await customObjects.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: namespace(),
        plural,
      })) as { kind: string; items: unknown[] };
      expect(list.items).toEqual([]);
      expect(list.kind).toMatch(/List$/);
    }
    const pv = await apiextensions.readCustomResourceDefinition({ name: 'packagevariants.packagevariant.dev' });
    expect(pv.status?.acceptedNames?.shortNames).toEqual(['pvar']);
  });
});
