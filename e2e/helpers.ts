// Shared helpers for the e2e specs: clients for the control plane started by global-setup.ts, a
// fresh namespace per test, and polling.
import { afterEach, beforeEach } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { apiErrorCode, makeClients } from '../lib/kube/client.ts';
import type { KubeClients } from '../lib/kube/client.ts';

export const GROUP = 'packagevariant.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

function kubeConfigFrom(variable: string): KubeConfig {
  const path = process.env[variable];
  if (!path) throw new Error(`${variable} is not set: run the e2e tests through jest's e2e project (make e2e)`);
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

export const adminKubeConfig = () => kubeConfigFrom('TESTENV_KUBECONFIG');
export const restrictedKubeConfig = () => kubeConfigFrom('TESTENV_RESTRICTED_KUBECONFIG');
export const adminClients = (): KubeClients => makeClients(adminKubeConfig());

let counter = 0;
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${(++counter).toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Registers beforeEach/afterEach hooks that give each test its own namespace and returns a getter
 * for it. (Without kube-controller-manager a deleted namespace stays Terminating; names never repeat.)
 */
export function useTestNamespace(clients: () => KubeClients = adminClients): () => string {
  let current: string | undefined;
  beforeEach(async () => {
    current = uniqueName('e2e');
    await clients().core.createNamespace({
      body: { metadata: { name: current, labels: { 'e2e.packagevariant.dev/test': 'true' } } },
    });
  });
  afterEach(async () => {
    if (current) await clients().core.deleteNamespace({ name: current });
    current = undefined;
  });
  return () => {
    if (!current) throw new Error('useTestNamespace(): no namespace outside a test');
    return current;
  };
}

/** Polls `check` until it returns without throwing; rethrows its last error after `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/** An object as JSON for a failure message, without the `managedFields` noise. */
export function describeObject(object: { metadata?: object } | undefined): string {
  if (!object) return 'undefined';
  const { managedFields: _managedFields, ...metadata } = (object.metadata ?? {}) as Record<string, unknown>;
  return JSON.stringify({ ...object, metadata }, null, 2);
}

/** The HTTP status an API call ends with: 200, or the code of the API error it throws. */
export async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    const code = apiErrorCode(err);
    if (code === undefined) throw err;
    return code;
  }
}
