// kubectl's connection flags for the cluster commands (get, describe, events, suspend, resume,
// request-reconcile): --kubeconfig, --context, -n/--namespace, -A/--all-namespaces, and the client
// they make. Loaded only by those commands (it brings in the Kubernetes client).
import type { Command } from 'commander';
import { apiErrorCode, apiErrorStatus, loadKubeConfig, makeClients, type KubeClients } from '../lib/kube/client.ts';
import { UnavailableError, UsageError } from './exit-codes.ts';
import { kubeConfigSourceFrom } from './kube-connection.ts';

export interface KubeFlagOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces?: boolean;
}

export interface Cluster {
  clients: KubeClients;
  /** The namespace to read: -n, else the context's namespace, else `default`; undefined with -A. */
  namespace: string | undefined;
  server: string;
}

/** Adds the flags; `allNamespaces` only for commands that list. */
export function addKubeOptions(command: Command, { allNamespaces = false } = {}): Command {
  command
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'the kubeconfig context to use (default: its current context)')
    .option('-n, --namespace <ns>', "namespace (default: the context's namespace, else default)");
  if (allNamespaces) command.option('-A, --all-namespaces', 'every namespace', false);
  return command;
}

export function connect(options: KubeFlagOptions): Cluster {
  if (options.allNamespaces && options.namespace) {
    throw new UsageError('use either -n/--namespace or -A/--all-namespaces, not both');
  }
  const source = kubeConfigSourceFrom(options.kubeconfig);
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig(source);
  } catch (error) {
    throw new UnavailableError(`cannot load the kubeconfig: ${(error as Error).message}`);
  }
  if (options.context) {
    if (!kubeConfig.getContextObject(options.context)) {
      const known = kubeConfig.getContexts().map((c) => c.name);
      throw new UsageError(
        `no context ${JSON.stringify(options.context)} in the kubeconfig (it has: ${known.join(', ') || 'none'})`,
      );
    }
    kubeConfig.setCurrentContext(options.context);
  }
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new UnavailableError(`the kubeconfig context ${kubeConfig.getCurrentContext()} has no cluster`);
  const contextNamespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  return {
    clients: makeClients(kubeConfig),
    namespace: options.allNamespaces ? undefined : options.namespace || contextNamespace || 'default',
    server,
  };
}

/**
 * An API call's failure as one line: the server's own message (kubectl's `Error from server`),
 * or why the server could not be used (exit 69).
 */
export function apiFailure(error: unknown, server: string): Error {
  const code = apiErrorCode(error);
  if (code === undefined) {
    const e = error as Error & { cause?: { message?: string } };
    return new UnavailableError(
      `cannot reach the Kubernetes API server at ${server}: ${e.cause?.message ?? e.message}`,
    );
  }
  const status = apiErrorStatus(error);
  const reason = status?.reason ? ` (${status.reason})` : '';
  if (code === 401 || code === 403) {
    return new UnavailableError(`error from server${reason}: ${status?.message ?? `HTTP ${code}`}`);
  }
  if (code === 404 && !status?.details?.name) {
    return new UnavailableError(
      `the packagevariant.dev CRDs are not installed on ${server} (kubectl apply -k config/crd)`,
    );
  }
  return new Error(`error from server${reason}: ${status?.message ?? `HTTP ${code}`}`);
}

/** Runs an API call, turning its failure into {@link apiFailure}. */
export async function call<T>(cluster: Cluster, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw apiFailure(error, cluster.server);
  }
}
