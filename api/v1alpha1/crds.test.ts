import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { CRD_DIR, renderCrds } from '../../scripts/gen-crds.ts';

const crds = renderCrds();
type Json = Record<string, unknown>;
const schemaOf = (file: string) => {
  const crd = parse(crds.get(file)!) as { spec: { versions: Json[] } };
  return crd.spec.versions[0] as {
    schema: { openAPIV3Schema: Json };
    subresources: Json;
    additionalPrinterColumns: Json[];
  };
};
const at = (schema: Json, path: string[]): Json =>
  path.reduce((s, key) => (key === '[]' ? (s.items as Json) : ((s.properties as Json)[key] as Json)), schema);

describe('generated CRDs', () => {
  it('match the checked-in files in config/crd/bases (run `make crds` after changing api/)', () => {
    for (const [file, content] of crds) {
      expect(readFileSync(join(CRD_DIR, file), 'utf8')).toBe(content);
    }
  });

  it('have the status subresource, printer columns, and list-map conditions', () => {
    const pv = schemaOf('packagevariant.dev_packagevariants.yaml');
    expect(pv.subresources).toEqual({ status: {} });
    expect(pv.additionalPrinterColumns.map((c) => c.name)).toEqual(
      expect.arrayContaining(['Ready', 'Upstream', 'Downstream', 'Age']),
    );
    const conditions = at(pv.schema.openAPIV3Schema, ['status', 'conditions']);
    expect(conditions['x-kubernetes-list-type']).toBe('map');
    expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
    expect((conditions.items as Json).required).toEqual(['type', 'status', 'lastTransitionTime', 'reason', 'message']);
  });

  it('enumerate the policies and require injector names', () => {
    const spec = at(schemaOf('packagevariant.dev_packagevariants.yaml').schema.openAPIV3Schema, ['spec']);
    expect(at(spec, ['deletionPolicy']).enum).toEqual(['delete', 'orphan']);
    expect(at(spec, ['adoptionPolicy']).enum).toEqual(['adoptNone', 'adoptExisting']);
    expect(at(spec, ['injectors', '[]']).required).toEqual(['name']);
  });

  it('are structural: no constructs the API server refuses in CRD schemas', () => {
    for (const content of crds.values()) {
      expect(content).not.toMatch(/\b(patternProperties|anyOf|oneOf|allOf|const|\$id|\$ref):/);
      expect(content).not.toMatch(/additionalProperties: false/);
    }
  });
});
