// Every object in config/samples/ is accepted by the real API server as written (nothing pruned).
import { describe, expect, it } from '@jest/globals';
import { basename, join } from 'node:path';
import { loadManifests } from '../lib/kube/manifests.ts';
import { render } from './deploy-env.ts';
import { adminClients, GROUP, useTestNamespace, VERSION } from './helpers.ts';

const SAMPLES = join(import.meta.dirname, '..', 'config', 'samples');
const PLURALS: Record<string, string> = {
  PackageVariant: 'packagevariants',
  PackageVariantSet: 'packagevariantsets',
  Repository: 'repositories',
};

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: unknown;
}

describe('config/samples', () => {
  const namespace = useTestNamespace();
  const loaded = loadManifests([SAMPLES]);
  const { errors } = loaded;
  // config/samples/kustomization.yaml lists the samples for `kubectl apply -k`; it is not one.
  const isKustomization = (o: unknown) => (o as Obj).kind === 'Kustomization';
  const objects = loaded.objects.filter((o) => !isKustomization(o.object));

  it('are all in config/samples/kustomization.yaml: kubectl kustomize renders every sample as written', () => {
    expect(loaded.objects.filter((o) => isKustomization(o.object)).map((o) => basename(o.file))).toEqual([
      'kustomization.yaml',
    ]);
    const key = (o: Obj) => `${o.kind}/${o.metadata.name}`;
    const byKey = (list: Obj[]) => Object.fromEntries(list.map((o) => [key(o), o]));
    const rendered = render(SAMPLES) as unknown as Obj[];
    expect(byKey(rendered)).toEqual(byKey(objects.map((o) => o.object as Obj)));
  });

  it('loads, and has samples of each kind of the API', () => {
    expect(errors).toEqual([]);
    const kinds = new Set(objects.map((o) => (o.object as Obj).kind));
    for (const kind of Object.keys(PLURALS)) expect(kinds).toContain(kind);
  });

  it('are all accepted by the API server and stored without pruning', async () => {
    const { core, customObjects } = adminClients();
    for (const { object, file, index } of objects) {
      const sample = object as Obj;
      const body = { ...sample, metadata: { ...sample.metadata, namespace: namespace() } };
      const where = `${file}#${index} (${sample.kind} ${sample.metadata.name})`;
      if (sample.apiVersion === `${GROUP}/${VERSION}`) {
        const stored = (await customObjects.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: namespace(),
          plural: PLURALS[sample.kind] ?? `unknown kind ${sample.kind}`,
          body,
        })) as Obj;
        expect({ where, spec: stored.spec }).toEqual({ where, spec: sample.spec });
      } else if (sample.apiVersion === 'v1' && sample.kind === 'Secret') {
        await core.createNamespacedSecret({ namespace: namespace(), body });
      } else {
        throw new Error(`${where}: the e2e test does not know how to apply ${sample.apiVersion} ${sample.kind}`);
      }
    }
  });
});
