// `pvctl reconcile -f` (the command, as a child process) with a variant following a Repository of
// type oci on the real CNCF distribution registry (TLS, basic auth), its Secret in the manifests:
// the draft is cloned from the highest version tag, a dry run previews the upgrade to a new tag
// without pushing, the run after it pushes the upgrade, and `pvctl carried` diffs against the image.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { blueprint, repository, TestRepo } from '../../controllers/testing/fixtures.ts';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { OciClient } from '../../lib/oci/client.ts';
import { pushPackage } from '../../lib/oci/package.ts';
import { parseReference } from '../../lib/oci/reference.ts';
import { startRegistry, type TestRegistry } from '../../lib/oci/testing/registry.ts';

const PVCTL = join(import.meta.dirname, '..', 'pvctl.ts');
const USER = 'ci';
const PASSWORD = 'Ci-registry-pa55';
let registry: TestRegistry;
let root: string;

beforeAll(async () => {
  registry = await startRegistry({ tls: true, username: USER, password: PASSWORD });
  root = tempDir('pvctl-reconcile-oci-');
}, 30_000);
afterAll(async () => {
  await registry?.stop();
  removeDir(root);
});

function pvctl(...args: string[]) {
  const env = { ...process.env, PVCTL_OCI_USERNAME: USER, PVCTL_OCI_PASSWORD: PASSWORD };
  const result = spawnSync(process.execPath, [PVCTL, ...args], { encoding: 'utf8', timeout: 60_000, env });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

describe('pvctl reconcile with an OCI upstream', () => {
  it('clones, previews the upgrade to a new tag without pushing, then pushes it', async () => {
    const client = new OciClient({ ca: registry.ca!, credentials: { username: USER, password: PASSWORD } });
    const push = (tag: string, image: string) =>
      pushPackage(client, parseReference(`${registry.host}/blueprints/nginx:${tag}`), {
        files: blueprint('nginx', { image }),
        modes: new Map(),
      });
    const v1 = await push('v1', 'nginx:1.25');
    const deploy = await TestRepo.create(root, 'deploy');
    const manifests = join(root, 'fleet.yaml');
    const objects = [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'pull', namespace: 'default' },
        type: 'kubernetes.io/basic-auth',
        stringData: { username: USER, password: PASSWORD, 'ca.crt': registry.ca! },
      },
      {
        apiVersion: 'packagevariant.dev/v1alpha1',
        kind: 'Repository',
        metadata: { name: 'blueprints', namespace: 'default' },
        spec: { type: 'oci', oci: { registry: registry.host, secretRef: { name: 'pull' } } },
      },
      repository('deploy', deploy.url, true),
      {
        apiVersion: 'packagevariant.dev/v1alpha1',
        kind: 'PackageVariant',
        metadata: { name: 'east', namespace: 'default' },
        spec: {
          upstream: { repo: 'blueprints', package: 'blueprints/nginx' },
          downstream: { repo: 'deploy', package: 'east' },
        },
      },
    ];
    writeFileSync(manifests, objects.map((o) => stringify(o)).join('---\n'));
    const cache = join(root, 'cache');

    const first = pvctl('reconcile', '-f', manifests, '--cache-dir', cache);
    expect(first.err).toMatch(/1\/1 PackageVariant\(s\) ready/);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/default\s+east\s+True/);
    const lock = parse(await deploy.show('drafts/east/packagevariant-1', 'east/Kptfile')).upstreamLock.git;
    expect(lock).toMatchObject({ repo: `oci://${registry.host}/blueprints/nginx`, ref: 'v1', commit: v1 });

    const v2 = await push('v2', 'nginx:1.27');
    const before = await deploy.refs();
    const preview = pvctl('reconcile', '-f', manifests, '--cache-dir', cache, '--dry-run', '-o', 'diff');
    expect(preview.code).toBe(0);
    expect(preview.out).toContain('+          image: nginx:1.27');
    expect(await deploy.refs()).toEqual(before);
    expect(await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml')).toContain('nginx:1.25');

    const second = pvctl('reconcile', '-f', manifests, '--cache-dir', cache, '-o', 'json');
    expect(second.code).toBe(0);
    const [east] = (
      JSON.parse(second.out) as { items: { status: { downstreamTargets: { upstreamCommit: string }[] } }[] }
    ).items;
    expect(east!.status.downstreamTargets[0]!.upstreamCommit).toBe(v2);
    expect(await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml')).toContain('nginx:1.27');
    // What the draft carries against the OCI upstream at its lock: the package context clone wrote.
    const caFile = join(root, 'ca.crt');
    writeFileSync(caFile, registry.ca!);
    const carried = pvctl(
      'carried',
      'east',
      '--repo',
      deploy.url,
      '--revision',
      'packagevariant-1',
      '--diff',
      '--ca-file',
      caFile,
    );
    expect(carried.err).toBe('');
    expect(carried.code).toBe(0);
    expect(carried.out).toContain('+++ b/downstream/package-context.yaml');
    expect(carried.out).not.toContain('deployment.yaml');
    expect(first.out + first.err + preview.out + preview.err + second.out + second.err).not.toContain(PASSWORD);
  }, 60_000);
});
