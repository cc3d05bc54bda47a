// The request counter against @kubernetes/client-node's real HTTP layer: API calls (generated
// client) and a watch (bare undici fetch) to a loopback HTTP server that answers like an API server.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { observeKubeRequests } from './rest-client.ts';

let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.includes('watch=true')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"type":"ADDED","object":{"kind":"Namespace","metadata":{"name":"a"}}}\n');
    } else if (req.url?.startsWith('/api/v1/namespaces/missing')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404}');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"NamespaceList","items":[]}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

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

describe('observeKubeRequests', () => {
  it('counts API calls and watches to the cluster by code and method, and nothing else', async () => {
    const seen: string[] = [];
    const stop = observeKubeRequests(url, (code, method, host) => seen.push(`${code} ${method} ${host}`));
    const kc = kubeConfig(url);
    const core = kc.makeApiClient(CoreV1Api);
    try {
      await core.listNamespace();
      await expect(core.readNamespace({ name: 'missing' })).rejects.toMatchObject({ code: 404 });
      await new Promise<void>((resolve, reject) => {
        void new Watch(kc).watch(
          '/api/v1/namespaces',
          {},
          () => {},
          (err) => (err ? reject(err) : resolve()),
        );
      });
      await fetch(`http://localhost:${new URL(url).port}/other-origin`); // not the cluster's origin
      // A refused connection is still a request: code <error>, as client-go counts it.
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
      await new Promise((resolve) => closed.close(resolve));
      const stopDead = observeKubeRequests(deadUrl, (code, method) => seen.push(`${code} ${method} dead`));
      await expect(kubeConfig(deadUrl).makeApiClient(CoreV1Api).listNamespace()).rejects.toThrow();
      stopDead();
    } finally {
      stop();
    }
    const host = new URL(url).host;
    expect(seen).toEqual([`200 GET ${host}`, `404 GET ${host}`, `200 GET ${host}`, '<error> GET dead']);
    await core.listNamespace();
    expect(seen).toHaveLength(4); // unsubscribed
  });
});
