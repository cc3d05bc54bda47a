// The restartable informer against a real API server that is restarted mid-watch. This spec starts
// its own control plane so the restart cannot disturb the specs sharing the global one.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { makeClients, mergePatch } from '../lib/kube/client.ts';
import type { KubeClients } from '../lib/kube/client.ts';
import { RestartableInformer } from '../lib/kube/informer.ts';
import { installCrds, PROJECT_CRD_DIR } from './testenv/crds.ts';
import { startTestEnv } from './testenv/testenv.ts';
import type { TestEnv } from './testenv/testenv.ts';
import { packageVariant } from './fixtures.ts';
import { eventually, GROUP, VERSION } from './helpers.ts';

type PV = KubernetesObject & { spec: { downstream: { package: string } } };

describe('RestartableInformer against a restarting API server', () => {
  let env: TestEnv;
  let clients: KubeClients;
  const namespace = 'informer-e2e';
  const ref = { group: GROUP, version: VERSION, namespace, plural: 'packagevariants' };

  beforeAll(async () => {
    env = await startTestEnv();
    await installCrds(env.kubeConfig(), PROJECT_CRD_DIR);
    clients = makeClients(env.kubeConfig());
    await clients.core.createNamespace({ body: { metadata: { name: namespace } } });
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
  });

  it('sees add/update/delete, survives a restart mid-watch and ends with the final state', async () => {
    const { customObjects } = clients;
    const create = (name: string) => customObjects.createNamespacedCustomObject({ ...ref, body: packageVariant(name) });
    await create('before-a');

    const events: string[] = [];
    const informer = new RestartableInformer<PV>({
      kubeConfig: env.kubeConfig(),
      path: `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/packagevariants`,
      list: () => customObjects.listNamespacedCustomObject(ref),
      backoff: { initialMs: 100, maxMs: 2000, factor: 2, jitter: 0.1 },
    });
    const record = (verb: string) => (obj: PV) =>
      events.push(`${verb} ${obj.metadata?.name} ${obj.spec.downstream.package}`);
    informer.on('add', record('add'));
    informer.on('update', record('update'));
    informer.on('delete', record('delete'));
    try {
      await informer.start();
      await informer.waitForSync(10_000);
      expect(informer.hasSynced()).toBe(true);
      expect(events).toEqual(['add before-a before-a-ns']);

      await create('before-b');
      await customObjects.patchNamespacedCustomObject(
        { ...ref, name: 'before-a', body: { spec: { downstream: { package: 'a-v2' } } } },
        mergePatch,
      );
      await customObjects.deleteNamespacedCustomObject({ ...ref, name: 'before-b' });
      await eventually(() =>
        expect(events).toEqual([
          'add before-a before-a-ns',
          'add before-b before-b-ns',
          'update before-a a-v2',
          'delete before-b before-b-ns',
        ]),
      );
      events.length = 0;
      const connectsBefore = informer.health().connects;

      await env.restartApiServer();

      // Changes made right after the restart, possibly before the informer has reconnected.
      await customObjects.patchNamespacedCustomObject(
        { ...ref, name: 'before-a', body: { spec: { downstream: { package: 'a-v3' } } } },
        mergePatch,
      );
      await create('after-c');
      await create('after-d');
      await customObjects.deleteNamespacedCustomObject({ ...ref, name: 'after-d' });

      await eventually(() => {
        const cached = informer
          .list(namespace)
          .map((o) => `${o.metadata?.name}=${o.spec.downstream.package}`)
          .sort();
        expect(cached).toEqual(['after-c=after-c-ns', 'before-a=a-v3']);
      }, 30_000);
      await eventually(() => expect(informer.health()).toMatchObject({ watching: true, consecutiveFailures: 0 }));
      // The watch really ended with the old process and was re-established.
      expect(informer.health().connects).toBeGreaterThan(connectsBefore);
      // Every change arrived once, in order (a relist: in its own order). The watch normally resumes from its resourceVersion and
      // then sees after-d come and go; if the new API server answers 410 the informer relists
      // instead, and after-d (created and deleted meanwhile) is legitimately never seen.
      const resumed = [
        'update before-a a-v3',
        'add after-c after-c-ns',
        'add after-d after-d-ns',
        'delete after-d after-d-ns',
      ];
      // A relist hands its items over in the list's order (by name), not in the order they changed.
      const relisted = [
        ['update before-a a-v3', 'add after-c after-c-ns'],
        ['add after-c after-c-ns', 'update before-a a-v3'],
      ];
      expect([resumed, ...relisted]).toContainEqual(events);
    } finally {
      await informer.stop();
    }
  }, 120_000);
});
