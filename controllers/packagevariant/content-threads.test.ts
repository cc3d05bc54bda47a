// The content pipeline on worker threads gives what it gives on the main thread: the same bytes,
// modes, conflicts and render results, the base itself when nothing changed, and the same errors.
import { afterAll, describe, expect, it } from '@jest/globals';
import { defaultPackageVariantSpec, type PackageVariantSpec } from '../../api/v1alpha1/index.ts';
import type { PackageModes } from '../../lib/kpt/package.ts';
import { MergeConflictError } from '../../lib/merge/index.ts';
import { blueprint } from '../testing/fixtures.ts';
import { computeContent, type ContentInput, type ContentOptions } from './content.ts';
import { ContentThreads } from './content-threads.ts';
import { MutationError } from './mutation-error.ts';

const threads = new ContentThreads(2);
afterAll(() => threads.close());

const lock = (commit: string) => ({
  repo: 'https://git.example/blueprints',
  directory: 'nginx',
  ref: 'nginx/v1',
  commit,
});
const spec = (more: Partial<PackageVariantSpec> = {}) =>
  defaultPackageVariantSpec({
    upstream: { repo: 'blueprints', package: 'nginx' },
    downstream: { repo: 'deploy', package: 'east' },
    ...more,
  });
const modes = (): PackageModes =>
  new Map([
    ['run.sh', { kind: 'executable' }],
    ['latest', { kind: 'symlink', target: Buffer.from('deployment.yaml') }],
  ]);
// A symlink is only in the modes (its target), as git stores it.
const withScript = (files: Map<string, Buffer>) => new Map([...files, ['run.sh', Buffer.from('#!/bin/sh\necho hi\n')]]);

function cloneInput(more: Partial<PackageVariantSpec> = {}): ContentInput {
  return {
    pv: { metadata: { name: 'east' } },
    spec: spec(more),
    downRepo: { spec: { deployment: true } },
    upstream: { commit: 'a'.repeat(40), lock: lock('a'.repeat(40)) },
    updated: { files: withScript(blueprint('nginx')), modes: modes() },
    injection: new Map(),
  };
}

async function both(input: ContentInput, options: ContentOptions = { conflictPolicy: 'upstream-wins' }) {
  const [here, there] = await Promise.all([computeContent(input, options), threads.compute(input, options)]);
  return { here, there };
}

function expectSame(here: Awaited<ReturnType<typeof computeContent>>, there: typeof here) {
  const { files: f1, modes: m1, render: r1, ...rest1 } = here;
  const { files: f2, modes: m2, render: r2, ...rest2 } = there;
  expect([...f2.keys()]).toEqual([...f1.keys()]);
  for (const [path, content] of f1) expect(f2.get(path)!.toString('latin1')).toBe(content.toString('latin1'));
  expect(m2).toEqual(m1);
  expect(rest2).toEqual(rest1);
  expect(r2?.results).toEqual(r1?.results);
  expect(r2?.error).toEqual(r1?.error);
}

describe('the content pipeline on worker threads', () => {
  it('a clone with a rendered pipeline: the same files, modes and render results', async () => {
    const input = cloneInput({
      labels: { site: 'east' },
      pipeline: { mutators: [{ image: 'gcr.io/kpt-fn/set-namespace:v0.4.1', configMap: { namespace: 'east-ns' } }] },
    });
    const { here, there } = await both(input);
    expect(there.task).toBe('clone');
    expect(there.render?.results.exitCode).toBe(0);
    expect(there.files.get('deployment.yaml')!.toString()).toContain('namespace: east-ns');
    expect(Buffer.isBuffer(there.files.get('Kptfile'))).toBe(true);
    expect(there.modes.get('latest')).toEqual({ kind: 'symlink', target: Buffer.from('deployment.yaml') });
    expectSame(here, there);
  });

  it('an upgrade that overrides a local edit: the same merge and the same recorded conflict', async () => {
    const cloned = await computeContent(cloneInput(), { conflictPolicy: 'upstream-wins' });
    const local = new Map(cloned.files);
    local.set(
      'deployment.yaml',
      Buffer.from(local.get('deployment.yaml')!.toString().replace('replicas: 1', 'replicas: 3')),
    );
    const input: ContentInput = {
      ...cloneInput(),
      upstream: { commit: 'b'.repeat(40), lock: lock('b'.repeat(40)) },
      base: { revision: {}, content: { files: local, modes: cloned.modes } },
      lock: { commit: 'a'.repeat(40), current: false },
      original: { files: withScript(blueprint('nginx')), modes: modes() },
      updated: { files: withScript(blueprint('nginx', { replicas: 2, image: 'nginx:1.26' })), modes: modes() },
    };
    const { here, there } = await both(input);
    expect(there.task).toBe('upgrade');
    expect(there.conflicts).toEqual([expect.objectContaining({ file: 'deployment.yaml', winner: 'upstream' })]);
    expect(there.files.get('deployment.yaml')!.toString()).toContain('image: nginx:1.26');
    expectSame(here, there);

    await expect(threads.compute(input, { conflictPolicy: 'fail' })).rejects.toBeInstanceOf(MergeConflictError);
    const error = await threads.compute(input, { conflictPolicy: 'fail' }).catch((e: MergeConflictError) => e);
    expect((error as MergeConflictError).conflicts).toEqual(
      here.conflicts.map(({ winner: _w, ...c }) => expect.objectContaining(c)),
    );
  });

  it('an edit that changes nothing returns the base itself, so nothing is compared or rendered again', async () => {
    const cloned = await computeContent(cloneInput(), { conflictPolicy: 'upstream-wins' });
    const base = { files: cloned.files, modes: cloned.modes };
    const input: ContentInput = {
      ...cloneInput(),
      base: { revision: {}, content: base },
      lock: { commit: 'a'.repeat(40), current: true },
    };
    const there = await threads.compute(input, { conflictPolicy: 'upstream-wins' });
    expect(there.task).toBe('edit');
    expect(there.files).toBe(base.files);
    expect(there.modes).toEqual(base.modes);
  });

  it('a mutation error comes back as a MutationError naming the file and the field', async () => {
    const input = { ...cloneInput({ packageContext: { data: { site: 'east' } } }), downRepo: {} };
    const here = await computeContent(input, { conflictPolicy: 'upstream-wins' }).catch((e: unknown) => e);
    const there = await threads.compute(input, { conflictPolicy: 'upstream-wins' }).catch((e: unknown) => e);
    expect(here).toBeInstanceOf(MutationError);
    expect(there).toBeInstanceOf(MutationError);
    const { file, field, message } = here as MutationError;
    expect(there).toMatchObject({ file, field, message });
    expect(file).toBe('package-context.yaml');
  });
});
