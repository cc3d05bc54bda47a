// `pvctl run` (a child process) with variants following OCI upstreams, against the real API server
// and the real CNCF distribution registry on loopback (TLS, basic auth): a Repository of type oci
// with a dockerconfigjson Secret holding the CA, and an inline spec.upstream.oci pinned by digest.
// A new tag is noticed by the watcher's poll (one tag list per image) and recomputes the draft.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { blueprint } from '../controllers/testing/fixtures.ts';
import { OciClient } from '../lib/oci/client.ts';
import { pushPackage } from '../lib/oci/package.ts';
import { parseReference } from '../lib/oci/reference.ts';
import { startRegistry, type TestRegistry } from '../lib/oci/testing/registry.ts';
import { adminClients, API_VERSION, eventually, GROUP, VERSION } from './helpers.ts';
import { condition, spawnPvctlRun, useControllerEnv } from './packagevariant-env.ts';

const TIMEOUT_MS = 90_000;
const USER = 'fleet';
const PASSWORD = 'Registry-pa55-e2e';
let registry: TestRegistry;
let client: OciClient;

beforeAll(async () => {
  registry = await startRegistry({ tls: true, username: USER, password: PASSWORD });
  client = new OciClient({ ca: registry.ca!, credentials: { username: USER, password: PASSWORD } });
}, 30_000);
afterAll(async () => {
  await registry?.stop();
});

describe('pvctl run with OCI upstreams', () => {
  const env = useControllerEnv();

  it(
    'clones from a Repository of type oci, follows a new tag on the next poll, and keeps a pinned digest',
    async () => {
      const prefix = `e2e/${env.namespace()}`;
      const push = (tag: string, image: string) =>
        pushPackage(client, parseReference(`${registry.host}/${prefix}/nginx:${tag}`), {
          files: blueprint('nginx', { image }),
          modes: new Map(),
        });
      const v1 = await push('v1', 'nginx:1.25');
      const deploy = await env.repo('deploy');
      await env.createRepository('deploy', deploy.url, true);
      const { core, customObjects } = adminClients();
      const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
      await core.createNamespacedSecret({
        namespace: env.namespace(),
        body: {
          metadata: { name: 'registry-pull' },
          type: 'kubernetes.io/dockerconfigjson',
          stringData: {
            '.dockerconfigjson': JSON.stringify({ auths: { [registry.host]: { auth } } }),
            'ca.crt': registry.ca!,
          },
        },
      });
      await customObjects.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: env.namespace(),
        plural: 'repositories',
        body: {
          apiVersion: API_VERSION,
          kind: 'Repository',
          metadata: { name: 'blueprints' },
          spec: { type: 'oci', oci: { registry: `${registry.host}/${prefix}`, secretRef: { name: 'registry-pull' } } },
        },
      });

      const child = spawnPvctlRun(env);
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        await env.createVariant('east', {
          upstream: { repo: 'blueprints', package: 'nginx' },
          downstream: { repo: 'deploy', package: 'east' },
        });
        await env.createVariant('pinned', {
          upstream: { oci: { image: `${registry.host}/${prefix}/nginx@${v1}`, secretRef: { name: 'registry-pull' } } },
          downstream: { repo: 'deploy', package: 'pinned' },
        });
        const east = await env.waitFor(
          'east',
          (pv) => condition(pv, 'Ready')?.status === 'True' && pv.status?.downstreamTargets?.[0]?.upstreamCommit === v1,
          30_000,
        );
        expect(east.status?.upstream?.latest).toMatchObject({ ref: 'v1', commit: v1 });
        await env.waitFor('pinned', (pv) => pv.status?.downstreamTargets?.[0]?.upstreamCommit === v1, 30_000);
        const lock = parse(await deploy.show('drafts/east/packagevariant-1', 'east/Kptfile')).upstreamLock;
        expect(lock.git).toEqual({
          repo: `oci://${registry.host}/${prefix}/nginx`,
          directory: '',
          ref: 'v1',
          commit: v1,
        });

        const v2 = await push('v2', 'nginx:1.27');
        const upgraded = await env.waitFor(
          'east',
          (pv) => pv.status?.downstreamTargets?.[0]?.upstreamCommit === v2,
          30_000,
        );
        // The pending clone draft is recomputed in place.
        expect(upgraded.status?.downstreamTargets?.[0]?.ref).toBe('drafts/east/packagevariant-1');
        expect(await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml')).toContain(
          'image: nginx:1.27',
        );
        const pinned = await env.getVariant('pinned');
        expect(pinned?.status?.downstreamTargets?.[0]?.upstreamCommit).toBe(v1);
        expect(await deploy.show('drafts/pinned/packagevariant-1', 'pinned/deployment.yaml')).toContain(
          'image: nginx:1.25',
        );
        await eventually(() => expect(output).toContain('"controller":"packagevariant"'));
        expect(output).not.toContain(PASSWORD);
        expect(output).not.toContain(auth);

        child.kill('SIGTERM');
        expect(await exited).toBe(0);
      } finally {
        child.kill('SIGKILL');
      }
    },
    TIMEOUT_MS,
  );
});
