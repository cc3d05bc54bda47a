import { describe, expect, it } from '@jest/globals';
import { apiErrorCode, apiErrorStatus } from '../lib/kube/client.ts';
import { packageVariant, packageVariantSet, repository } from './fixtures.ts';
import { adminClients, GROUP, useTestNamespace, VERSION } from './helpers.ts';

const PLURALS: Record<string, string> = {
  PackageVariant: 'packagevariants',
  PackageVariantSet: 'packagevariantsets',
  Repository: 'repositories',
};

interface Obj {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}

describe('CRD schema validation by the API server', () => {
  const namespace = useTestNamespace();

  const create = (body: Obj) =>
    adminClients().customObjects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: namespace(),
      plural: PLURALS[body.kind] ?? '',
      body,
    }) as Promise<Obj & { metadata: { uid: string; generation: number } }>;

  /** Creates `body`, expects a 422 and returns the API server's field causes. */
  async function rejected(body: Obj): Promise<{ field?: string; message?: string; reason?: string }[]> {
    let error: unknown;
    try {
      await create(body);
    } catch (err) {
      error = err;
    }
    expect(apiErrorCode(error)).toBe(422);
    const status = apiErrorStatus(error);
    expect(status?.reason).toBe('Invalid');
    return status?.details?.causes ?? [];
  }

  it.each([
    ['PackageVariant', packageVariant],
    ['PackageVariantSet', packageVariantSet],
    ['Repository', repository],
  ])('accepts a valid %s and stores it unchanged', async (_kind, make) => {
    const body = make('valid-one') as Obj;
    const created = await create(body);
    expect(created.metadata.uid).toBeTruthy();
    expect(created.metadata.generation).toBe(1);
    expect(created.spec).toEqual(body.spec);
  });

  it('rejects a value outside an enum, naming the field', async () => {
    const body = packageVariant('bad-enum');
    body.spec.adoptionPolicy = 'adoptEverything';
    const causes = await rejected(body);
    expect(causes).toContainEqual(
      expect.objectContaining({ field: 'spec.adoptionPolicy', reason: 'FieldValueNotSupported' }),
    );
    expect(causes.map((c) => c.message).join('\n')).toContain('"adoptEverything"');
  });

  it('rejects a wrong type, naming the field', async () => {
    const body = packageVariant('bad-type') as Obj & { spec: { upstream: Record<string, unknown> } };
    body.spec.upstream.revision = 'three';
    const causes = await rejected(body);
    expect(causes).toContainEqual(
      expect.objectContaining({ field: 'spec.upstream.revision', reason: 'FieldValueTypeInvalid' }),
    );
  });

  it('rejects a missing required field and a too-short string', async () => {
    const set = packageVariantSet('bad-required') as Obj & { spec: { targets: unknown[] } };
    set.spec.targets = [{ repositories: [{ packageNames: ['x'] }] }];
    expect(await rejected(set)).toContainEqual(
      expect.objectContaining({ field: 'spec.targets[0].repositories[0].name', reason: 'FieldValueRequired' }),
    );

    const repo = repository('bad-branch') as Obj & { spec: { git: Record<string, unknown> } };
    repo.spec.git.branch = '';
    const causes = await rejected(repo);
    expect(causes).toContainEqual(expect.objectContaining({ field: 'spec.git.branch' }));
    expect(causes.find((c) => c.field === 'spec.git.branch')?.message).toMatch(/at least 1 chars long/);
  });

  it('prunes fields the schema does not know', async () => {
    const body = packageVariant('with-unknown') as Obj;
    body.spec.notAField = 'dropped';
    const created = await create(body);
    expect(created.spec).not.toHaveProperty('notAField');
    expect(created.spec.adoptionPolicy).toBe('adoptExisting');
  });
});
