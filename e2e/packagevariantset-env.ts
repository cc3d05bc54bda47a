// PackageVariantSets in a cluster: the controller env of e2e/packagevariant-env.ts plus labelled
// Repositories, sets and polling helpers for them.
import type { PackageVariant, PackageVariantSet, PackageVariantSetSpec } from '../api/v1alpha1/index.ts';
import { blueprint, repository, type TestRepo } from '../controllers/testing/fixtures.ts';
import { mergePatch } from '../lib/kube/client.ts';
import { getCondition } from '../lib/kube/conditions.ts';
import { adminClients, describeObject, eventually, GROUP, VERSION } from './helpers.ts';
import { useControllerEnv, type ControllerEnv } from './packagevariant-env.ts';

export interface SetEnv extends ControllerEnv {
  /** A Repository object (deployment when `labels` are given) with these labels. */
  createLabelledRepository(name: string, url: string, labels: Record<string, string>): Promise<void>;
  relabelRepository(name: string, labels: Record<string, string | null>): Promise<void>;
  createSet(name: string, spec: PackageVariantSetSpec): Promise<void>;
  patchSet(name: string, body: object): Promise<void>;
  deleteSet(name: string): Promise<void>;
  getSet(name: string): Promise<PackageVariantSet | undefined>;
  /** Polls until the set satisfies `check` (which throws or returns false otherwise). */
  waitForSet(
    name: string,
    check: (pvs: PackageVariantSet) => boolean | void,
    timeoutMs?: number,
  ): Promise<PackageVariantSet>;
  /** The PackageVariants of the namespace, by name. */
  variants(): Promise<Map<string, PackageVariant>>;
  /**
   * The upstream blueprint `nginx` (published v1) and one labelled deployment repository per site;
   * then starts the controller.
   */
  setupSites(
    sites: Record<string, Record<string, string>>,
  ): Promise<{ upstream: TestRepo; repos: Record<string, TestRepo> }>;
}

export const setCondition = (pvs: PackageVariantSet | undefined, type: string) =>
  getCondition(pvs?.status?.conditions, type);

export function useSetEnv(): SetEnv {
  const env = useControllerEnv();
  const clients = adminClients();
  const ref = (name: string, plural: string) => ({
    group: GROUP,
    version: VERSION,
    namespace: env.namespace(),
    plural,
    name,
  });
  const getSet = async (name: string) => {
    try {
      return (await clients.customObjects.getNamespacedCustomObject(
        ref(name, 'packagevariantsets'),
      )) as PackageVariantSet;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  };
  const setEnv: SetEnv = {
    ...env,
    async setupSites(sites) {
      const upstream = await env.repo('blueprints');
      await upstream.publish('nginx', blueprint('nginx'), 1);
      await env.createRepository('blueprints', upstream.url);
      const repos: Record<string, TestRepo> = {};
      for (const [name, labels] of Object.entries(sites)) {
        repos[name] = await env.repo(name);
        await setEnv.createLabelledRepository(name, repos[name].url, labels);
      }
      await env.start();
      return { upstream, repos };
    },
    async createLabelledRepository(name, url, labels) {
      const body = repository(name, url, true);
      body.metadata = { name, namespace: env.namespace(), labels };
      await clients.customObjects.createNamespacedCustomObject({ ...ref('', 'repositories'), body });
    },
    async relabelRepository(name, labels) {
      await clients.customObjects.patchNamespacedCustomObject(
        { ...ref(name, 'repositories'), body: { metadata: { labels } } },
        mergePatch,
      );
    },
    async createSet(name, spec) {
      await clients.customObjects.createNamespacedCustomObject({
        ...ref('', 'packagevariantsets'),
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PackageVariantSet', metadata: { name }, spec },
      });
    },
    async patchSet(name, body) {
      await clients.customObjects.patchNamespacedCustomObject({ ...ref(name, 'packagevariantsets'), body }, mergePatch);
    },
    async deleteSet(name) {
      await clients.customObjects.deleteNamespacedCustomObject(ref(name, 'packagevariantsets'));
    },
    getSet,
    async waitForSet(name, check, timeoutMs = 20_000) {
      let last: PackageVariantSet | undefined;
      try {
        return await eventually(
          async () => {
            last = await getSet(name);
            if (!last || check(last) === false) throw new Error('not yet');
            return last;
          },
          timeoutMs,
          100,
        );
      } catch {
        const children = [...(await setEnv.variants()).values()].map((pv) => ({
          name: pv.metadata?.name,
          generation: pv.metadata?.generation,
          annotations: pv.metadata?.annotations,
          status: pv.status,
        }));
        throw new Error(
          `PackageVariantSet ${name} never matched; last seen:\n${describeObject(last)}\n` +
            `its namespace's PackageVariants:\n${JSON.stringify(children, null, 2)}`,
        );
      }
    },
    async variants() {
      const list = (await clients.customObjects.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: env.namespace(),
        plural: 'packagevariants',
      })) as { items: PackageVariant[] };
      return new Map(list.items.map((pv) => [pv.metadata!.name!, pv]));
    },
  };
  return setEnv;
}
