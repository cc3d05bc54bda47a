import { describe, expect, it } from '@jest/globals';
import { formatFieldError } from './field-errors.ts';
import { validateManifest } from './manifest.ts';

const pv = (spec: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'packagevariant.dev/v1alpha1',
  kind: 'PackageVariant',
  metadata: { name: 'pv' },
  spec,
  ...extra,
});
const valid = { upstream: { repo: 'b', package: 'p' }, downstream: { repo: 'd', package: 'p' } };
const messages = (obj: unknown) => validateManifest(obj).map(formatFieldError);

describe('validateManifest', () => {
  it('accepts a valid object', () => {
    expect(messages(pv(valid))).toEqual([]);
  });

  it('reports wrong types, enums, unknown fields and required fields with their paths', () => {
    expect(messages(pv({ ...valid, upstream: { repo: 'b', package: 'p', revision: 'v1' } }))).toEqual([
      'spec.upstream.revision: Invalid value: "v1": must be of type integer, not string',
    ]);
    expect(messages(pv({ ...valid, deletionPolicy: 'keep' }))).toEqual([
      'spec.deletionPolicy: Unsupported value: "keep": supported values: "delete", "orphan"',
    ]);
    expect(messages(pv({ ...valid, downstreem: {} }))).toEqual(['spec.downstreem: unknown field']);
    expect(messages(pv({ ...valid, injectors: [{ kind: 'ConfigMap' }] }))).toEqual([
      'spec.injectors[0].name: Required value',
    ]);
    expect(messages(pv({ ...valid, labels: { a: 1 } }))).toEqual([
      'spec.labels.a: Invalid value: 1: must be of type string, not integer',
    ]);
  });

  it('runs the semantic rules once the schema holds', () => {
    expect(messages(pv({ upstream: { repo: 'b' }, downstream: valid.downstream }))).toEqual([
      'spec.upstream.package: Required value',
    ]);
  });

  it('validates condition timestamps and status values in status', () => {
    const status = {
      conditions: [{ type: 'Ready', status: 'Maybe', reason: 'R', message: '', lastTransitionTime: 'yesterday' }],
    };
    expect(messages(pv(valid, { status }))).toEqual([
      'status.conditions[0].status: Unsupported value: "Maybe": supported values: "True", "False", "Unknown"',
      'status.conditions[0].lastTransitionTime: Invalid value: "yesterday": must be an RFC 3339 date-time',
    ]);
  });

  it('names Porch manifests, unknown kinds and wrong versions', () => {
    expect(messages({ ...pv(valid), apiVersion: 'config.porch.kpt.dev/v1alpha1' })).toEqual([
      'apiVersion: Invalid value: "config.porch.kpt.dev/v1alpha1": this is a Porch manifest; use apiVersion packagevariant.dev/v1alpha1',
    ]);
    expect(messages({ ...pv(valid), apiVersion: 'packagevariant.dev/v1' })[0]).toMatch(
      /^apiVersion: .*unsupported version/,
    );
    expect(messages({ ...pv(valid), kind: 'Widget' })[0]).toMatch(/^kind: Invalid value: "Widget": unknown kind/);
    expect(messages({ kind: 'PackageVariant' })).toEqual(['apiVersion: Required value']);
    expect(messages('just a string')[0]).toMatch(/must be a Kubernetes object/);
  });

  it('accepts Secrets and ConfigMaps as inputs', () => {
    expect(messages({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } })).toEqual([]);
    expect(messages({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })).toEqual(['metadata.name: Required value']);
  });
});

describe('validateManifest on mistyped objects', () => {
  it('reports schema errors and semantic errors on other fields (not inside a mistyped one), without throwing', () => {
    const obj = pv({ upstream: 'not-an-object', downstream: { repo: 'd' }, labels: 5 });
    expect(messages(obj)).toEqual([
      'spec.upstream: Invalid value: "not-an-object": must be of type object, not string',
      'spec.labels: Invalid value: 5: must be of type object, not integer',
      'spec.downstream.package: Required value',
    ]);
  });
});
