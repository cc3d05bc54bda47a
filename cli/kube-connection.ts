// `pvctl run`'s first look at the cluster: no kubeconfig, or an API server that cannot be reached
// (or that lacks the CRDs, or refuses us), is a clear error and a non-zero exit at start. Only
// after this first successful call do the informers retry on their own.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../api/v1alpha1/index.ts';
import { apiErrorCode, makeClients, type KubeConfigSource } from '../lib/kube/client.ts';
import { UnavailableError } from './exit-codes.ts';

export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Where the kubeconfig comes from. With none at all client-node would quietly talk to
 * http://localhost:8080 and fail forever with a TLS message; say so instead.
 */
export function kubeConfigSourceFrom(
  kubeconfig: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  home = homedir(),
): KubeConfigSource {
  if (kubeconfig) return { kind: 'file', path: kubeconfig };
  if (env.KUBECONFIG || env.KUBERNETES_SERVICE_HOST || existsSync(join(home, '.kube', 'config'))) {
    return { kind: 'default' };
  }
  throw new UnavailableError(
    'no cluster to connect to: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a cluster',
  );
}

function reason(error: unknown): string {
  const code = apiErrorCode(error);
  if (code === 404) return 'the PackageVariant CRD is not installed (kubectl apply -k config/crd)';
  if (code === 401) return 'unauthorized (HTTP 401): check the credentials in the kubeconfig';
  if (code === 403) return 'forbidden (HTTP 403): the account may not list PackageVariants (see config/rbac)';
  if (code !== undefined) return `HTTP ${code}`;
  const e = error as Error & { cause?: { code?: string; message?: string }; code?: string };
  const message = e.cause?.message ?? e.message ?? String(error);
  if (/HTTP protocol is not allowed/.test(message)) {
    return 'the server is plain http:// but the kubeconfig does not allow insecure connections (insecure-skip-tls-verify)';
  }
  return message;
}

/** Lists at most one PackageVariant where the controller will watch; throws an UnavailableError on failure. */
export async function checkConnection(
  kubeConfig: KubeConfig,
  namespace?: string,
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<void> {
  const server = kubeConfig.getCurrentCluster()?.server ?? '(no server)';
  const custom = makeClients(kubeConfig).customObjects;
  const plural = 'packagevariants';
  const call = namespace
    ? custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, limit: 1 })
    : custom.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, resourcePlural: plural, limit: 1 });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs / 1000}s`)), timeoutMs);
  });
  try {
    await Promise.race([call, timeout]);
  } catch (error) {
    throw new UnavailableError(`cannot use the Kubernetes API server at ${server}: ${reason(error)}`);
  } finally {
    clearTimeout(timer);
  }
}
