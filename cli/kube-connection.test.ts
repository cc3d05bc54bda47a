import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { checkConnection, kubeConfigSourceFrom } from './kube-connection.ts';

/** A kubeconfig for a plain-http API server on loopback (a real HTTP server, answering as told). */
function kubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

let server: Server;
let base: string;
let answer: (path: string) => { status: number; body?: object } | 'hang';
beforeAll(async () => {
  server = createServer((req, res) => {
    const reply = answer(req.url ?? '');
    if (reply === 'hang') return;
    res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('pvctl run: the first look at the cluster', () => {
  it('needs a kubeconfig, unless in a cluster', () => {
    expect(() => kubeConfigSourceFrom(undefined, {}, '/nonexistent-home')).toThrow(
      'no cluster to connect to: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a cluster',
    );
    expect(kubeConfigSourceFrom('/k', {}, '/nonexistent-home')).toEqual({ kind: 'file', path: '/k' });
    expect(kubeConfigSourceFrom(undefined, { KUBECONFIG: '/k' }, '/nonexistent-home')).toEqual({ kind: 'default' });
    expect(kubeConfigSourceFrom(undefined, { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, '/x')).toEqual({ kind: 'default' });
  });

  it('lists one PackageVariant where it will watch, and succeeds', async () => {
    const paths: string[] = [];
    answer = (path) => {
      paths.push(path);
      return {
        status: 200,
        body: { apiVersion: 'packagevariant.dev/v1alpha1', kind: 'PackageVariantList', items: [] },
      };
    };
    await checkConnection(kubeConfig(base), 'team-a');
    await checkConnection(kubeConfig(base));
    expect(paths).toEqual([
      '/apis/packagevariant.dev/v1alpha1/namespaces/team-a/packagevariants?limit=1',
      '/apis/packagevariant.dev/v1alpha1/packagevariants?limit=1',
    ]);
  });

  it('says what is wrong: missing CRD, credentials, permissions, no server, no answer', async () => {
    const fails = (status: number) => {
      answer = () => ({ status, body: { kind: 'Status', code: status } });
      return expect(checkConnection(kubeConfig(base))).rejects.toThrow(
        `cannot use the Kubernetes API server at ${base}: `,
      );
    };
    await fails(404);
    await expect(checkConnection(kubeConfig(base))).rejects.toThrow(/the PackageVariant CRD is not installed/);
    await fails(401);
    await fails(403);
    await expect(checkConnection(kubeConfig(base))).rejects.toThrow(/forbidden \(HTTP 403\)/);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(checkConnection(kubeConfig(`http://127.0.0.1:${port}`))).rejects.toThrow(
      new RegExp(`at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
    answer = () => 'hang';
    await expect(checkConnection(kubeConfig(base), undefined, 200)).rejects.toThrow(/: no answer in 0\.2s$/);
    const strict = kubeConfig(base);
    strict.clusters[0] = { ...strict.clusters[0]!, skipTLSVerify: false };
    await expect(checkConnection(strict)).rejects.toThrow(/plain http:\/\/ but the kubeconfig does not allow insecure/);
  });
});
