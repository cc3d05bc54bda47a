// The OCI upstream source against the real CNCF distribution registry (Debian's docker-registry,
// installed by scripts/system-deps.sh) on loopback, with TLS and basic auth. Each test pushes to
// its own repository.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { PackageFiles, PackageModes } from '../../lib/kpt/package.ts';
import { OciClient } from '../../lib/oci/client.ts';
import { packPackage, pushPackage } from '../../lib/oci/package.ts';
import { parseReference } from '../../lib/oci/reference.ts';
import { startRegistry, type TestRegistry } from '../../lib/oci/testing/registry.ts';
import { OciSource } from './oci-source.ts';
import { resolveWatches, UpstreamNotFoundError } from './source.ts';

const USER = 'blueprints';
const PASSWORD = 'Pa55-w0rd-never-shown';
let registry: TestRegistry;
let client: OciClient;
let repoCount = 0;

beforeAll(async () => {
  registry = await startRegistry({ tls: true, username: USER, password: PASSWORD });
  client = new OciClient({ ca: registry.ca!, credentials: { username: USER, password: PASSWORD } });
}, 30_000);

afterAll(async () => {
  await registry?.stop();
});

function pkg(image: string): { files: PackageFiles; modes: PackageModes } {
  return {
    files: new Map([
      ['Kptfile', Buffer.from('apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: app\n')],
      ['deploy/app.yaml', Buffer.from(`apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  image: ${image}\n`)],
      ['scripts/run.sh', Buffer.from('#!/bin/sh\necho run\n')],
      ['data.bin', Buffer.from([0, 1, 2, 255, 254, 10, 13])],
    ]),
    modes: new Map([
      ['scripts/run.sh', { kind: 'executable' }],
      ['deploy/current.yaml', { kind: 'symlink', target: Buffer.from('app.yaml') }],
    ]) as PackageModes,
  };
}

/** A fresh repository, a push helper and an OciSource on it. */
function world() {
  const repository = `bp/app${++repoCount}`;
  const push = (tag: string, image: string) =>
    pushPackage(client, parseReference(`${registry.host}/${repository}:${tag}`), pkg(image));
  const source = new OciSource({
    registry: registry.host,
    repository,
    ca: registry.ca!,
    credentials: { username: USER, password: PASSWORD },
  });
  const resolveAt = async (track: string) => {
    await source.sync(await source.heads());
    return source.resolve('', track);
  };
  return { repository, push, source, resolveAt };
}

describe('OciSource on a real registry (TLS, basic auth)', () => {
  it('resolves a tag to its manifest digest, and locks image, tag and digest', async () => {
    const { push, source, resolveAt, repository } = world();
    const v1 = await push('v1', 'nginx:1.26');
    expect(v1).toBe(packPackage(pkg('nginx:1.26')).digest);
    const found = await resolveAt('v1');
    expect(found).toEqual({ ref: 'v1', commit: v1, revision: 1 });
    expect(await resolveAt('tag:v1')).toEqual(found);
    expect(await resolveAt('revision:1')).toEqual(found);
    expect(await source.packageTree('', v1)).toBe(v1);
    expect(await source.packageTree('other', v1)).toBeUndefined();
    expect(source.lock('', found)).toEqual({
      repo: `oci://${registry.host}/${repository}`,
      directory: '',
      ref: 'v1',
      commit: v1,
    });
    expect(source.watchPackage('')).toBe(repository);
    expect(source.packageNameOf(repository)).toBe('');
    expect(source.packageNameOf('elsewhere')).toBeUndefined();
  });

  it('resolves a pinned digest after its tag moved', async () => {
    const { push, resolveAt, source } = world();
    const first = await push('stable', 'nginx:1.26');
    const second = await push('stable', 'nginx:1.27');
    expect(second).not.toBe(first);
    expect((await resolveAt('stable')).commit).toBe(second);
    expect(await resolveAt(`@${first}`)).toEqual({ ref: first, commit: first });
    expect(await source.packageTree('', first)).toBe(first);
    const content = await source.read('', first);
    expect(content.files.get('deploy/app.yaml')!.toString()).toContain('nginx:1.26');
  });

  it('follows the highest version tag by default, else latest', async () => {
    const { push, resolveAt, source } = world();
    const latest = await push('latest', 'nginx:edge');
    expect(source.defaultRef).toBe('latest');
    expect(await resolveAt('latest')).toEqual({ ref: 'latest', commit: latest });
    const v2 = await push('v2', 'nginx:1.2');
    await push('v10', 'nginx:1.10'); // numeric, not by string: v10 > v9 > v2
    await push('v9.1.0', 'nginx:1.9');
    await push('v10.0.1', 'nginx:1.10.1');
    await push('release-99', 'nginx:99');
    const v1001 = (await source.heads()).get('v10.0.1')!;
    expect(await resolveAt('latest')).toEqual({ ref: 'v10.0.1', commit: v1001 });
    expect(await resolveAt('tag:latest')).toEqual({ ref: 'latest', commit: latest });
    expect((await resolveAt('v2')).commit).toBe(v2);
  });

  it('heads lists every tag with its digest, and change when a tag is pushed again', async () => {
    const { push, source } = world();
    expect(await source.heads()).toEqual(new Map());
    const v1 = await push('v1', 'nginx:1.26');
    const edge = await push('edge', 'nginx:1.26');
    expect(edge).toBe(v1); // same content, same digest
    const before = await source.heads();
    expect(before).toEqual(new Map([['edge', v1], ['v1', v1]])); // prettier-ignore
    expect(await source.heads()).toEqual(before);
    const moved = await push('edge', 'nginx:1.27');
    const after = await source.heads();
    expect(after).toEqual(new Map([['edge', moved], ['v1', v1]])); // prettier-ignore

    // What the watcher does with them: the revision (and tree) of a watch moves with its tag only.
    const watch = (track: string) => ({ repo: source.url, package: source.watchPackage(''), track });
    const edgeWatch = watch('edge');
    const v1Watch = watch('v1');
    const resolved = await resolveWatches(source, [edgeWatch, v1Watch, watch('nope')], after);
    expect(resolved.get(edgeWatch)).toEqual({ commit: moved, tree: moved });
    expect(resolved.get(v1Watch)).toEqual({ commit: v1, tree: v1 });
    expect([...resolved.values()][2]).toBeUndefined();
  });

  it('reads the package by digest byte for byte, with modes', async () => {
    const { push, source } = world();
    const digest = await push('v1', 'nginx:1.26');
    const content = await source.read('', digest);
    const expected = pkg('nginx:1.26');
    expect(new Map([...content.files].sort())).toEqual(new Map([...expected.files].sort()));
    for (const [path, data] of expected.files) expect(content.files.get(path)!.equals(data)).toBe(true);
    expect(new Map([...content.modes].sort())).toEqual(new Map([...expected.modes].sort()));
  });

  it('throws UpstreamNotFoundError for an unknown tag, digest or package', async () => {
    const { push, resolveAt, source } = world();
    await expect(resolveAt('v1')).rejects.toBeInstanceOf(UpstreamNotFoundError);
    await expect(resolveAt('latest')).rejects.toBeInstanceOf(UpstreamNotFoundError);
    await push('v1', 'nginx:1.26');
    await expect(resolveAt('v2')).rejects.toBeInstanceOf(UpstreamNotFoundError);
    await expect(resolveAt('tag:..')).rejects.toBeInstanceOf(UpstreamNotFoundError);
    const absent = `sha256:${'0'.repeat(64)}`;
    await expect(resolveAt(`@${absent}`)).rejects.toBeInstanceOf(UpstreamNotFoundError);
    expect(await source.packageTree('', absent)).toBeUndefined();
    await expect(source.read('', absent)).rejects.toBeInstanceOf(UpstreamNotFoundError);
    await expect(source.resolve('other', 'v1')).rejects.toBeInstanceOf(UpstreamNotFoundError);
  });
});
