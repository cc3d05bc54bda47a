// The deployment manifests as the e2e specs use them: config/default rendered by the kubectl that
// e2e/testenv/build.sh builds (its built-in kustomize, no downloads), the Helm chart rendered by the
// helm that scripts/helm.sh builds, applied server-side, and a kubeconfig holding a token of the
// controller's ServiceAccount (TokenRequest API).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { adminClients, adminKubeConfig } from './helpers.ts';

export const ROOT_DIR = join(import.meta.dirname, '..');
export const CONFIG_DIR = join(ROOT_DIR, 'config');
export const CHART_DIR = join(ROOT_DIR, 'charts', 'packagevariant-controller');
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

let helmBinary: string | undefined;

/**
 * The helm binary: built (or reused from its cache) by scripts/helm.sh, whose progress goes to the
 * test's stderr. `make test` builds it before jest starts; a cold build takes a few minutes.
 */
export function helmPath(): string {
  if (helmBinary) return helmBinary;
  const result = spawnSync(join(ROOT_DIR, 'scripts', 'helm.sh'), [], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.error) throw new Error(`cannot run scripts/helm.sh: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`scripts/helm.sh failed with status ${result.status}`);
  const path = result.stdout.trim().split('\n').at(-1);
  if (!path) throw new Error('scripts/helm.sh printed no path');
  return (helmBinary = path);
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `helm <args>` with `values` (if any) in a values file; HOME-like state in a temporary directory.
 * Commands that talk to a cluster get `--kubeconfig`.
 */
export function helm(args: string[], values?: object): HelmResult {
  const dir = mkdtempSync(join(tmpdir(), 'pvc-helm-'));
  try {
    const valueArgs: string[] = [];
    if (values) {
      writeFileSync(join(dir, 'values.json'), JSON.stringify(values));
      valueArgs.push('--values', join(dir, 'values.json'));
    }
    const env = {
      PATH: process.env.PATH ?? '',
      // Also where client-go keeps its discovery cache (~/.kube/cache): not in the work tree.
      HOME: dir,
      HELM_CACHE_HOME: join(dir, 'cache'),
      HELM_CONFIG_HOME: join(dir, 'config'),
      HELM_DATA_HOME: join(dir, 'data'),
    };
    const result = spawnSync(helmPath(), [...args, ...valueArgs], { encoding: 'utf8', env });
    if (result.error) throw result.error;
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` of the chart as objects (no cluster: Helm's default capabilities). */
export function helmTemplate(
  values: object = {},
  { release = 'packagevariant-controller', namespace = SYSTEM_NAMESPACE } = {},
): KubernetesObject[] {
  const result = helm(['template', release, CHART_DIR, '--namespace', namespace], values);
  if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr}`);
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
