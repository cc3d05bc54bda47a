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
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    customObjects: kubeConfig.makeApiClient(CustomObjectsApi),
    coordination: kubeConfig.makeApiClient(CoordinationV1Api),
    apiextensions: kubeConfig.makeApiClient(ApiextensionsV1Api),
    rbac: kubeConfig.makeApiClient(RbacAuthorizationV1Api),
  };
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
