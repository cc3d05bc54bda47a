// Loading a KubeConfig and making the typed API clients the controller and the tests use.
import {
  ApiException,
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { ConfigurationOptions, V1Status } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';

export type KubeConfigSource =
  | { kind: 'file'; path: string; context?: string }
  | { kind: 'in-cluster' }
  /** KUBECONFIG, then ~/.kube/config, then in-cluster (client-node's order). */
  | { kind: 'default'; context?: string };

export function loadKubeConfig(source: KubeConfigSource = { kind: 'default' }): KubeConfig {
  const kc = new KubeConfig();
  switch (source.kind) {
    case 'file':
      kc.loadFromFile(source.path);
      break;
    case 'in-cluster':
      kc.loadFromCluster();
      break;
    case 'default':
      kc.loadFromDefault();
      break;
  }
  if ('context' in source && source.context) kc.setCurrentContext(source.context);
  if (!kc.getCurrentCluster()) throw new Error('the kubeconfig has no current cluster');
  return kc;
}

export interface KubeClients {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  customObjects: CustomObjectsApi;
  coordination: CoordinationV1Api;
  apiextensions: ApiextensionsV1Api;
  rbac: RbacAuthorizationV1Api;
}

export function makeClients(kubeConfig: KubeConfig): KubeClients {
  reuseConnections(kubeConfig);
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    customObjects: kubeConfig.makeApiClient(CustomObjectsApi),
    coordination: kubeConfig.makeApiClient(CoordinationV1Api),
    apiextensions: kubeConfig.makeApiClient(ApiextensionsV1Api),
    rbac: kubeConfig.makeApiClient(RbacAuthorizationV1Api),
  };
}

type CreateDispatcher = (cluster: unknown, agentOptions: Record<string, unknown>) => unknown;
const reusing = new WeakSet<KubeConfig>();
const MAX_AGENTS = 4;

/**
 * client-node 2.x makes a new undici Agent for every request (`applySecurityAuthentication` →
 * `createDispatcher`), so every API request opened a new TLS connection: ~2 s of handshakes in a
 * 1,000-variant upgrade. One Agent per TLS identity (server, CA, client certificate and key, by
 * content, so rotated files get a new one) keeps connections alive across requests. The method is
 * private in client-node's types; client.test.ts fails if an upgrade moves it.
 */
function reuseConnections(kubeConfig: KubeConfig): void {
  const target = kubeConfig as unknown as { createDispatcher?: CreateDispatcher };
  const create = target.createDispatcher;
  if (typeof create !== 'function' || reusing.has(kubeConfig)) return;
  reusing.add(kubeConfig);
  const agents = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = identityOf(cluster, agentOptions);
    if (!agents.has(key)) {
      agents.set(key, create.call(kubeConfig, cluster, agentOptions));
      // Credentials rotated away: their Agent and its idle connections go.
      for (const [old, agent] of agents) {
        if (agents.size <= MAX_AGENTS) break;
        agents.delete(old);
        void (agent as { close?: () => Promise<void> } | undefined)?.close?.().catch(() => {});
      }
    }
    return agents.get(key);
  };
}

function identityOf(cluster: unknown, agentOptions: Record<string, unknown>): string {
  const hash = createHash('sha256').update(JSON.stringify(cluster ?? null));
  for (const [key, value] of Object.entries(agentOptions)) {
    hash.update(`\0${key}=`);
    if (Buffer.isBuffer(value)) hash.update(value);
    else hash.update(JSON.stringify(value) ?? 'undefined');
  }
  return hash.digest('hex');
}

/**
 * Options that make a generated `patch*` call send a JSON merge patch (RFC 7386). Without them
 * client-node sends `application/json-patch+json`, and custom resources reject strategic merge.
 */
export const mergePatch: ConfigurationOptions = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The HTTP status of a failed API call, or undefined if `err` is not an API error. */
export function apiErrorCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** The `Status` object the API server sent with an error, when there is one. */
export function apiErrorStatus(err: unknown): V1Status | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const body: unknown = err.body;
  if (body && typeof body === 'object') return body as V1Status;
  if (typeof body !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === 'object' ? (parsed as V1Status) : undefined;
  } catch {
    return undefined;
  }
}
