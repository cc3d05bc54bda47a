// The API clients reuse their TLS connections: client-node alone opens one per request.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { makePki, writeKubeconfig } from './testing/pki.ts';
import { removeDir, tempDir } from '../git/testing/repos.ts';
import { makeClients } from './client.ts';

describe('makeClients', () => {
  let dir: string;
  let server: Server;
  let connections = 0;
  let kubeconfig: string;

  beforeAll(async () => {
    dir = tempDir('pv-kube-client-');
    const pki = makePki(dir, '127.0.0.1');
    server = createServer(
      {
        cert: readFileSync(pki.serving.certFile),
        key: readFileSync(pki.serving.keyFile),
        ca: readFileSync(pki.clientCa.certFile),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const name = /configmaps\/([^/?]+)/.exec(req.url ?? '')?.[1] ?? 'x';
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' } }));
      },
    );
    server.on('secureConnection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    kubeconfig = join(dir, 'kubeconfig');
    const user = { name: 'tester', groups: [] };
    writeKubeconfig(kubeconfig, `https://127.0.0.1:${port}`, pki.servingCa.certFile, user, pki.issueClient(user));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    removeDir(dir);
  });

  it('sends many requests over one TLS connection', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const { core } = makeClients(kc);
    connections = 0;
    for (let i = 0; i < 10; i++) {
      const cm = await core.readNamespacedConfigMap({ name: `cm-${i}`, namespace: 'default' });
      expect(cm.metadata?.name).toBe(`cm-${i}`);
    }
    // undici may open a second connection when the next request comes before the first one is idle again.
    expect(connections).toBeLessThanOrEqual(2);
  });

  it('is needed: client-node by itself connects once per request', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const core = kc.makeApiClient((await import('@kubernetes/client-node')).CoreV1Api);
    connections = 0;
    for (let i = 0; i < 4; i++) await core.readNamespacedConfigMap({ name: `cm-${i}`, namespace: 'default' });
    expect(connections).toBe(4);
  });
});
