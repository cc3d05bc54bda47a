import { describe, expect, it } from '@jest/globals';
import { BUILTINS } from './builtins/index.ts';
import { findBuiltin, parseCatalogImage } from './registry.ts';

const name = (image: string, tag?: string) => {
  const b = findBuiltin(BUILTINS, image, tag);
  return typeof b === 'string' ? `refused: ${b}` : b.name;
};

describe('image → built-in', () => {
  it('maps the catalog registries, bare names, latest, unstable and versions in range', () => {
    expect(name('gcr.io/kpt-fn/set-namespace:v0.4')).toBe('set-namespace');
    expect(name('ghcr.io/kptdev/krm-functions-catalog/set-namespace:v0.5')).toBe('set-namespace');
    expect(name('ghcr.io/kptdev/krm-functions-catalog/wasm/set-namespace:v0.5.1')).toBe('set-namespace');
    expect(name('ghcr.io/kptdev/krm-functions-catalog/set-labels')).toBe('set-labels');
    expect(name('set-labels:latest')).toBe('set-labels');
    expect(name('gcr.io/kpt-fn/starlark:unstable')).toBe('starlark');
    expect(name('gcr.io/kpt-fn/apply-replacements:v0.1.2')).toBe('apply-replacements');
    expect(name('ghcr.io/kptdev/krm-functions-catalog/set-namespace', 'v0.4.3')).toBe('set-namespace');
  });

  it('refuses other registries, digests, versions out of range and unknown names', () => {
    expect(name('example.com/kpt-fn/set-namespace:v0.4')).toMatch(/refused: .* is not a function catalog image/);
    expect(name('gcr.io/kpt-fn/set-namespace@sha256:0123')).toMatch(/pinned by digest/);
    expect(name('gcr.io/kpt-fn/set-namespace:v0.3.4')).toMatch(
      /implements v0.4 up to \(not including\) v1.0, not v0.3.4/,
    );
    expect(name('gcr.io/kpt-fn/set-namespace:v1.0')).toMatch(/not v1.0/);
    expect(name('gcr.io/kpt-fn/kubeconform:v0.1')).toMatch(/there is no built-in kubeconform/);
    expect(name('gcr.io/kpt-fn/set-namespace:main')).toMatch(/is not a version/);
  });

  it('splits image references', () => {
    expect(parseCatalogImage('gcr.io/kpt-fn/set-image:v0.1.1')).toEqual({
      name: 'set-image',
      prefix: 'gcr.io/kpt-fn/',
      tag: 'v0.1.1',
    });
    expect(parseCatalogImage('localhost:5000/fn')).toBeUndefined();
  });
});
