import { describe, expect, it } from '@jest/globals';
import { formatFieldError } from './field-errors.ts';
import { validateManifest, validateManifests, withoutNulls } from './manifest.ts';

const messages = (obj: unknown) => validateManifest(obj).map(formatFieldError);
const pv = (spec: unknown, metadata: unknown = { name: 'pv' }) => ({
  apiVersion: 'packagevariant.dev/v1alpha1',
  kind: 'PackageVariant',
  metadata,
  spec,
});
const valid = { upstream: { repo: 'b', package: 'p' }, downstream: { repo: 'd', package: 'p' } };

describe('validateManifest: what the API server refuses in every object', () => {
  it('refuses apiVersion and kind of the wrong type', () => {
    expect(messages({ apiVersion: 42, kind: 'PackageVariant' })).toEqual([
      'apiVersion: Invalid value: 42: must be a string',
    ]);
    expect(messages({ apiVersion: 'v1', kind: ['Secret'] })).toEqual([
      'kind: Invalid value: ["Secret"]: must be a string',
    ]);
  });

  it('checks metadata: types, namespace, label keys and values', () => {
    expect(messages(pv(valid, { name: 42 }))).toEqual([
      'metadata.name: Invalid value: 42: must be of type string, not integer',
    ]);
    expect(messages(pv(valid, { name: 'pv', namespace: '../x' }))[0]).toMatch(
      /^metadata\.namespace: Invalid value: "\.\.\/x": must be a lowercase RFC 1123 label/,
    );
    expect(messages(pv(valid, { name: 'pv', labels: { 'a b': 'x', ok: 'not ok!' }, annotations: { x: 1 } }))).toEqual([
      'metadata.annotations.x: Invalid value: 1: must be of type string, not integer',
    ]);
    expect(messages(pv(valid, { name: 'pv', labels: { 'a b': 'x', ok: 'not ok!' } }))).toEqual([
      expect.stringMatching(/^metadata\.labels\[a b\]: Invalid value: "a b": key name part must be/),
      expect.stringMatching(/^metadata\.labels\.ok: Invalid value: "not ok!": must be at most 63/),
    ]);
    expect(messages(pv(valid, { name: 'pv', surname: 'x' }))).toEqual(['metadata.surname: unknown field']);
    expect(messages(pv(valid, 'pv'))).toEqual(['metadata: Invalid value: "pv": must be of type object, not string']);
  });

  it('refuses integers JavaScript cannot hold, and shows NaN by name', () => {
    const revision = (value: unknown) => messages(pv({ ...valid, upstream: { ...valid.upstream, revision: value } }));
    expect(revision(2 ** 64)).toEqual([
      `spec.upstream.revision: Invalid value: ${2 ** 64}: must be an integer between -(2^53 - 1) and 2^53 - 1`,
    ]);
    expect(revision(NaN)).toEqual([
      'spec.upstream.revision: Invalid value: "NaN": must be of type integer, not number',
    ]);
    expect(revision({ a: 1 })).toEqual([
      'spec.upstream.revision: Invalid value: {"a":1}: must be of type integer, not object',
    ]);
  });

  it('checks Secrets and ConfigMaps as the API server does', () => {
    const secret = (extra: object) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, ...extra });
    expect(messages(secret({ data: { password: 'c2VjcmV0' }, stringData: { username: 'bob' } }))).toEqual([]);
    expect(messages(secret({ data: { password: 'not base64!' } }))).toEqual([
      'data.password: Invalid value: "<hidden>": must be base64 data',
    ]);
    expect(messages(secret({ stringData: { password: 42 }, data: 'x' }))).toEqual([
      'stringData.password: Invalid value: 42: must be of type string, not integer',
      'data: Invalid value: "x": must be of type object, not string',
    ]);
    expect(messages(secret({ metadata: { name: 'Not_A_Name' } }))[0]).toMatch(
      /^metadata\.name: Invalid value: "Not_A_Name"/,
    );
    expect(messages({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'a/b': 'x' } })).toEqual([
      "data[a/b]: Invalid value: \"a/b\": a key must consist of alphanumerics, '-', '_' or '.'",
    ]);
  });

  it('accepts other kinds (injection sources, target objects) with a name, and catches near misses of ours', () => {
    expect(
      messages({ apiVersion: 'example.com/v1', kind: 'Site', metadata: { name: 'east', labels: { tier: 'edge' } } }),
    ).toEqual([]);
    expect(messages({ apiVersion: 'example.com/v1', kind: 'Site', metadata: {} })).toEqual([
      'metadata.name: Required value',
    ]);
    expect(messages({ apiVersion: 'example.com/v1', kind: 'Site', metadata: { name: '..' } })).toEqual([
      "metadata.name: Invalid value: \"..\": may not be '.' or '..'",
    ]);
    expect(messages({ ...pv(valid), kind: 'PackageVariantt' })[0]).toMatch(
      /^kind: Invalid value: "PackageVariantt": unknown kind; did you mean PackageVariant\?/,
    );
    expect(messages({ ...pv(valid), apiVersion: 'example.com/v1', kind: 'packagevariants' })[0]).toMatch(
      /did you mean PackageVariant\?/,
    );
    expect(messages({ ...pv(valid), kind: 'Widget' })[0]).toMatch(
      /^kind: Invalid value: "Widget": unknown kind; expected/,
    );
  });
});

describe('validateManifest: names that Object.prototype knows', () => {
  it('takes kinds and fields named constructor, toString or __proto__ for what they are', () => {
    expect(messages({ ...pv(valid), kind: 'constructor' })[0]).toMatch(
      /^kind: Invalid value: "constructor": unknown kind/,
    );
    expect(messages({ apiVersion: 'v1', kind: 'toString', metadata: { name: 'x' } })).toEqual([]);
    const proto = pv(Object.fromEntries([...Object.entries(valid), ['__proto__', { polluted: true }]]));
    expect(messages(proto)).toEqual(['spec.__proto__: unknown field']);
    expect(messages(pv({ ...valid, constructor: 1 }))).toEqual(['spec.constructor: unknown field']);
  });
});

describe('validateManifests', () => {
  it('refuses both objects of a duplicate name, naming the other, whatever the version', () => {
    const a = pv(valid, { name: 'pv' });
    const b = { ...pv(valid, { name: 'pv', namespace: 'default' }), apiVersion: 'packagevariant.dev/v1alpha1' };
    const other = pv(valid, { name: 'pv', namespace: 'other' });
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pv' } };
    const results = validateManifests([a, b, other, secret], (i) => `doc ${i}`).map((e) => e.map(formatFieldError));
    expect(results).toEqual([
      ['metadata.name: Duplicate value: "pv": PackageVariant default/pv is also defined in doc 1'],
      ['metadata.name: Duplicate value: "pv": PackageVariant default/pv is also defined in doc 0'],
      [],
      [],
    ]);
  });
});

describe('withoutNulls', () => {
  it('drops the null fields the schemas know, as the API server prunes them', () => {
    const obj = pv(
      { upstream: null, downstream: { repo: 'd', package: null }, labels: { a: null } },
      { name: 'pv', labels: null },
    );
    expect(withoutNulls(obj)).toEqual(pv({ downstream: { repo: 'd' }, labels: {} }, { name: 'pv' }));
    const site = { apiVersion: 'example.com/v1', kind: 'Site', metadata: { name: 's' }, spec: { x: null } };
    expect(withoutNulls(site)).toEqual(site);
  });
});
