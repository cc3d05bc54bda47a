// Installs the project's CRDs (config/crd/bases) into the test API server and waits until they are
// Established, i.e. served.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiextensionsV1Api, CustomObjectsApi, loadYaml } from '@kubernetes/client-node';
import type { KubeConfig, V1CustomResourceDefinition } from '@kubernetes/client-node';
import { apiErrorCode } from '../../lib/kube/client.ts';

/** config/crd/bases of this project. */
export const PROJECT_CRD_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'config', 'crd', 'bases');

/**
 * The CRDs in `dir` as client-node model objects. A plain parsed object would lose fields on the way
 * out: the typed client serializes by model attribute names, e.g. `enum` is `_enum` and
 * `x-kubernetes-list-type` is `xKubernetesListType`, so plain keys are silently dropped.
 */
export function readCrds(dir: string): V1CustomResourceDefinition[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => loadYaml<V1CustomResourceDefinition>(readFileSync(join(dir, f), 'utf8')));
}

export function isEstablished(crd: V1CustomResourceDefinition): boolean {
  return (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
}

/**
 * Creates (or replaces) each CRD, then waits until all are Established and can be listed (the
 * resource's storage answers 429 "storage is (re)initializing" for a moment after Established).
 * Returns their names.
 */
export async function installCrds(kc: KubeConfig, dir: string, timeoutMs = 30_000): Promise<string[]> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  for (const crd of readCrds(dir)) {
    const name = crd.metadata?.name ?? '';
    names.push(name);
    try {
      await api.createCustomResourceDefinition({ body: crd });
    } catch (err) {
      if (apiErrorCode(err) !== 409) throw err;
      const existing = await api.readCustomResourceDefinition({ name });
      await api.replaceCustomResourceDefinition({
        name,
        body: { ...crd, metadata: { ...crd.metadata, resourceVersion: existing.metadata?.resourceVersion } },
      });
    }
  }
  const objects = kc.makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    let lastError: unknown;
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      if (isEstablished(crd)) {
        const { group, names: crdNames, versions } = crd.spec;
        try {
          for (const version of versions.filter((v) => v.served)) {
            await objects.listClusterCustomObject({ group, version: version.name, plural: crdNames.plural, limit: 1 });
          }
          break;
        } catch (err) {
          lastError = err;
        }
      }
      if (Date.now() > deadline) {
        throw new Error(`CRD ${name} not Established and served after ${timeoutMs} ms: ${String(lastError ?? '')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return names;
}
