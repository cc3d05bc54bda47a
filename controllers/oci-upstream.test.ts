// Variants following OCI upstreams in local mode (`pvctl reconcile`'s engine), against the real CNCF
// distribution registry on loopback with TLS and basic auth: a Repository of `type: oci` with a
// dockerconfigjson Secret (and the CA in it), and an inline `spec.upstream.oci` pinned by tag and
// by digest. Clone, upgrade with a person's customization kept, the Kptfile lock, and credentials
// that never reach status.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { KubeObject, PackageVariant } from '../api/v1alpha1/index.ts';
import { getCondition } from '../lib/kube/conditions.ts';
import { removeDir, tempDir } from '../lib/git/testing/repos.ts';
import { runGit } from '../lib/git/exec.ts';
import type { PackageModes } from '../lib/kpt/package.ts';
import { OciClient } from '../lib/oci/client.ts';
import { pushPackage } from '../lib/oci/package.ts';
import { parseReference } from '../lib/oci/reference.ts';
import { startRegistry, type TestRegistry } from '../lib/oci/testing/registry.ts';
import { reconcileLocally } from './local.ts';
import { blueprint, packageVariant, repository, TestRepo } from './testing/fixtures.ts';

const USER = 'puller';
const PASSWORD = 'S3cret-pull-pa55word';
let registry: TestRegistry;
let client: OciClient;
let root: string;
let worlds = 0;

beforeAll(async () => {
  registry = await startRegistry({ tls: true, username: USER, password: PASSWORD });
  client = new OciClient({ ca: registry.ca!, credentials: { username: USER, password: PASSWORD } });
  root = tempDir('pv-oci-');
}, 30_000);

afterAll(async () => {
  await registry?.stop();
  removeDir(root);
});

const modes = new Map([['run.sh', { kind: 'executable' }]]) as PackageModes;
const withScript = (files: Map<string, Buffer>) => new Map([...files, ['run.sh', Buffer.from('#!/bin/sh\necho hi\n')]]);

function pullSecret(name: string, auths: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'default' },
    type: 'kubernetes.io/dockerconfigjson',
    data: {
      '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })).toString('base64'),
      'ca.crt': Buffer.from(registry.ca!).toString('base64'),
    },
  } as KubeObject;
}

/** A registry namespace of its own, a deployment repository, and a run over both. */
async function world() {
  const prefix = `bp${++worlds}`;
  const deploy = await TestRepo.create(root, `deploy${worlds}`);
  const cacheDir = join(root, `cache${worlds}`);
  const push = (image: string, tag: string, files: Map<string, Buffer>) =>
    pushPackage(client, parseReference(`${registry.host}/${prefix}/${image}:${tag}`), {
      files: withScript(files),
      modes,
    });
  const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  const objects: KubeObject[] = [
    pullSecret('pull', { [`https://${registry.host}`]: { auth } }),
    {
      apiVersion: 'packagevariant.dev/v1alpha1',
      kind: 'Repository',
      metadata: { name: 'blueprints', namespace: 'default' },
      spec: { type: 'oci', oci: { registry: `${registry.host}/${prefix}`, secretRef: { name: 'pull' } } },
    },
    repository('deploy', deploy.url, true),
  ];
  const run = async (...variants: PackageVariant[]) => {
    const result = await reconcileLocally([...objects, ...variants], { cacheDir });
    const byName = (name: string) => result.variants.find((v) => v.metadata?.name === name)!;
    return { ...result, byName };
  };
  return { prefix, deploy, push, run, objects, cacheDir };
}

const ready = (pv: PackageVariant) => getCondition(pv.status?.conditions, 'Ready');

describe('a PackageVariant following a Repository of type oci', () => {
  it('clones the package of the highest version tag, byte for byte, locked to image, tag and digest', async () => {
    const { prefix, deploy, push, run } = await world();
    await push('nginx', 'v1', blueprint('nginx'));
    const v2 = await push('nginx', 'v2', blueprint('nginx', { image: 'nginx:1.26' }));
    await push('nginx', 'edge', blueprint('nginx', { image: 'nginx:edge' }));
    const { byName } = await run(
      packageVariant('east', {
        upstream: { repo: 'blueprints', package: 'nginx' },
        downstream: { repo: 'deploy', package: 'east' },
      }),
    );
    const pv = byName('east');
    expect(ready(pv)).toMatchObject({ status: 'True' });
    const [target] = pv.status!.downstreamTargets!;
    expect(target).toMatchObject({ lifecycle: 'Draft', upstreamCommit: v2 });
    const kptfile = parse(await deploy.show(target!.ref!, 'east/Kptfile'));
    const image = `oci://${registry.host}/${prefix}/nginx`;
    expect(kptfile.upstream).toEqual({
      type: 'git',
      git: { repo: image, directory: '', ref: 'v2' },
      updateStrategy: 'resource-merge',
    });
    expect(kptfile.upstreamLock).toEqual({ type: 'git', git: { repo: image, directory: '', ref: 'v2', commit: v2 } });
    expect(await deploy.show(target!.ref!, 'east/deployment.yaml')).toContain('image: nginx:1.26');
    const tree = (
      await runGit(['--git-dir', deploy.bare, 'ls-tree', `${target!.ref!}:east`, 'run.sh'])
    ).stdout.toString();
    expect(tree).toMatch(/^100755 blob /);
    expect(pv.status!.upstream).toMatchObject({ latest: { ref: 'v2', commit: v2 } });
    expect(JSON.stringify(pv.status)).not.toContain(PASSWORD);
  });

  it('upgrades a published downstream to a new tag, keeping the customization published after the clone', async () => {
    const { deploy, push, run, cacheDir } = await world();
    const v1 = await push('nginx', 'v1', blueprint('nginx'));
    const variant = packageVariant('east', {
      upstream: { repo: 'blueprints', package: 'nginx' },
      downstream: { repo: 'deploy', package: 'east' },
    });
    expect((await run(variant)).byName('east').status!.downstreamTargets![0]).toMatchObject({ upstreamCommit: v1 });
    const store = deploy.store(join(cacheDir, '..', `approver${worlds}`));
    await store.refresh();
    const [approved] = await store.batch().approve({ packageName: 'east', workspace: 'packagevariant-1' }).push();
    expect(approved?.status).toBe('created');
    const published = await store.readPackage({ packageName: 'east' });
    const customized = published.get('deployment.yaml')!.toString().replace('replicas: 1', 'replicas: 5');
    await deploy.publish('east', new Map([...published, ['deployment.yaml', Buffer.from(customized)]]), 2);
    store.close();

    const v2 = await push('nginx', 'v2', blueprint('nginx', { image: 'nginx:1.27', port: 8080 }));
    const { byName } = await run(variant);
    const pv = byName('east');
    expect(ready(pv)).toMatchObject({ status: 'True' });
    const draft = pv.status!.downstreamTargets!.find((t) => t.lifecycle === 'Draft')!;
    expect(draft.upstreamCommit).toBe(v2);
    const deployment = await deploy.show(draft.ref!, 'east/deployment.yaml');
    expect(deployment).toContain('image: nginx:1.27');
    expect(deployment).toContain('containerPort: 8080');
    expect(deployment).toContain('replicas: 5 # scale per site');
    expect(parse(await deploy.show(draft.ref!, 'east/Kptfile')).upstreamLock.git).toMatchObject({
      ref: 'v2',
      commit: v2,
    });
    expect(await deploy.message(draft.ref!)).toMatch(/^Upgrading revision/);
  });

  it('says UpstreamNotFound for a package nothing was pushed to, and names the registry, not the password', async () => {
    const { run } = await world();
    const { byName } = await run(
      packageVariant('lost', {
        upstream: { repo: 'blueprints', package: 'nope' },
        downstream: { repo: 'deploy', package: 'lost' },
      }),
    );
    const stalled = getCondition(byName('lost').status?.conditions, 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'UpstreamNotFound' });
    expect(stalled?.message).toContain(registry.host);
    expect(JSON.stringify(byName('lost').status)).not.toContain(PASSWORD);
  });

  it('refuses an OCI repository as the downstream', async () => {
    const { run, push } = await world();
    await push('nginx', 'v1', blueprint('nginx'));
    const { byName } = await run(
      packageVariant('wrong', {
        upstream: { repo: 'blueprints', package: 'nginx' },
        downstream: { repo: 'blueprints', package: 'x' },
      }),
    );
    expect(getCondition(byName('wrong').status?.conditions, 'Stalled')).toMatchObject({
      reason: 'InvalidRepository',
      message: expect.stringContaining('OCI repositories are upstreams only'),
    });
  });
});

describe('a PackageVariantSet over a Repository of type oci', () => {
  it('generates variants that clone the image, and says UpstreamNotFound for a package not pushed', async () => {
    const { deploy, push, objects, cacheDir } = await world();
    const v1 = await push('nginx', 'v1', blueprint('nginx'));
    const set = (name: string, pkg: string) => ({
      apiVersion: 'packagevariant.dev/v1alpha1',
      kind: 'PackageVariantSet',
      metadata: { name, namespace: 'default' },
      spec: {
        upstream: { repo: 'blueprints', package: pkg, revision: -1 },
        targets: [{ repositories: [{ name: 'deploy', packageNames: [`${name}-a`, `${name}-b`] }] }],
      },
    });
    const result = await reconcileLocally([...objects, set('fleet', 'nginx'), set('lost', 'nope')], { cacheDir });
    const fleet = result.sets.find((s) => s.metadata?.name === 'fleet')!;
    expect(getCondition(fleet.status?.conditions, 'Ready')).toMatchObject({ status: 'True' });
    const generated = result.variants.filter((v) => v.metadata?.name?.startsWith('fleet'));
    expect(generated.map((v) => v.status?.downstreamTargets?.[0]?.upstreamCommit)).toEqual([v1, v1]);
    expect(await deploy.refs('refs/heads/drafts')).toEqual([
      'refs/heads/drafts/fleet-a/packagevariant-1',
      'refs/heads/drafts/fleet-b/packagevariant-1',
    ]);
    const lost = result.sets.find((s) => s.metadata?.name === 'lost')!;
    expect(getCondition(lost.status?.conditions, 'Ready')?.message).toMatch(
      /could not find upstream package revision 'nope\/latest' in repo 'blueprints'/,
    );
  });
});

describe('a PackageVariant with spec.upstream.oci', () => {
  it('follows a tag, and stays on a pinned digest after the tag moves', async () => {
    const { prefix, deploy, push, run, objects } = await world();
    const first = await push('app', 'stable', blueprint('app'));
    const image = `${registry.host}/${prefix}/app`;
    const inline = (name: string, ref: string) =>
      packageVariant(name, {
        upstream: { oci: { image: ref, secretRef: { name: 'pull' } } },
        downstream: { repo: 'deploy', package: name },
      });
    const one = await run(inline('tagged', `${image}:stable`), inline('pinned', `${image}@${first}`));
    expect(one.byName('tagged').status!.downstreamTargets![0]).toMatchObject({ upstreamCommit: first });
    expect(one.byName('pinned').status!.downstreamTargets![0]).toMatchObject({ upstreamCommit: first });
    const pinnedLock = parse(await deploy.show('drafts/pinned/packagevariant-1', 'pinned/Kptfile')).upstreamLock.git;
    expect(pinnedLock).toEqual({ repo: `oci://${image}`, directory: '', ref: first, commit: first });

    const moved = await push('app', 'stable', blueprint('app', { image: 'nginx:1.28' }));
    const two = await run(inline('tagged', `${image}:stable`), inline('pinned', `${image}@${first}`));
    expect(two.byName('tagged').status!.downstreamTargets![0]).toMatchObject({ upstreamCommit: moved });
    expect(two.byName('pinned').status!.downstreamTargets![0]).toMatchObject({ upstreamCommit: first });
    expect(await deploy.show('drafts/tagged/packagevariant-1', 'tagged/deployment.yaml')).toContain('nginx:1.28');
    expect(objects).toHaveLength(3);
  });

  it('reports the registry refusing wrong credentials (and retries), never showing them', async () => {
    const { prefix, push, run, objects } = await world();
    await push('app', 'v1', blueprint('app'));
    const wrong = Buffer.from(`${USER}:not-the-password`).toString('base64');
    objects[0] = pullSecret('pull', { [registry.host]: { auth: wrong } });
    const { byName } = await run(
      packageVariant('denied', {
        upstream: { oci: { image: `${registry.host}/${prefix}/app:v1`, secretRef: { name: 'pull' } } },
        downstream: { repo: 'deploy', package: 'denied' },
      }),
    );
    const status = JSON.stringify(byName('denied').status);
    expect(ready(byName('denied'))).toMatchObject({ status: 'False' });
    expect(status).toContain(`registry ${registry.host} refused the credentials of user \\"${USER}\\"`);
    expect(getCondition(byName('denied').status?.conditions, 'Reconciling')).toMatchObject({ reason: 'Retrying' });
    expect(status).not.toContain('not-the-password');
    expect(status).not.toContain(wrong);
  });
});
