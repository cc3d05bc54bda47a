// The deployment manifests as the e2e specs use them: config/default rendered by the kubectl that
// e2e/testenv/build.sh builds (its built-in kustomize, no downloads), applied server-side, and a
// kubeconfig holding a token of the controller's ServiceAccount (TokenRequest API).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { adminClients, adminKubeConfig } from './helpers.ts';

export const CONFIG_DIR = join(import.meta.dirname, '..', 'config');
export const SYSTEM_NAMESPACE = 'packagevariant-system';
export const SERVICE_ACCOUNT = 'packagevariant-controller';
const FIELD_MANAGER = 'e2e-deploy';

export function kubectlPath(): string {
  const binDir = process.env.TESTENV_BIN_DIR;
  if (!binDir) throw new Error('TESTENV_BIN_DIR is not set: run the e2e tests through jest (make e2e)');
  return join(binDir, 'kubectl');
}

/** `kubectl kustomize <dir>` as objects. */
export function render(dir = join(CONFIG_DIR, 'default')): KubernetesObject[] {
  const result = spawnSync(kubectlPath(), ['kustomize', dir], { encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`);
  return (loadAll(result.stdout) as (KubernetesObject | null)[]).filter((o): o is KubernetesObject => o !== null);
}

/** Server-side apply of `objects` (a dry run with `dryRun: 'All'`). */
export async function apply(objects: KubernetesObject[], dryRun?: 'All'): Promise<KubernetesObject[]> {
  const api = KubernetesObjectApi.makeApiClient(adminKubeConfig());
  const applied: KubernetesObject[] = [];
  for (const obj of objects) {
    applied.push(await api.patch(obj, undefined, dryRun, FIELD_MANAGER, true, PatchStrategy.ServerSideApply));
  }
  return applied;
}

/** A kubeconfig for the same API server that authenticates as the controller's ServiceAccount. */
export async function serviceAccountKubeConfig(): Promise<KubeConfig> {
  const token = await adminClients().core.createNamespacedServiceAccountToken({
    name: SERVICE_ACCOUNT,
    namespace: SYSTEM_NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const admin = adminKubeConfig();
  const cluster = admin.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: SERVICE_ACCOUNT, token: token.status!.token }],
    contexts: [{ name: SERVICE_ACCOUNT, cluster: cluster.name, user: SERVICE_ACCOUNT }],
    currentContext: SERVICE_ACCOUNT,
  });
  return kc;
}

export const serviceAccountUser = `system:serviceaccount:${SYSTEM_NAMESPACE}:${SERVICE_ACCOUNT}`;

/** Applies the namespace and the RBAC objects of config/default for real (idempotent). */
export async function installRbac(): Promise<void> {
  const kinds = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
  await apply(render().filter((o) => kinds.has(o.kind!)));
}
