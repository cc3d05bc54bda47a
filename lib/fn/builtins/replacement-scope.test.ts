import { describe, expect, it } from '@jest/globals';
import { parseDocument, type YAMLMap } from 'yaml';
import { replacementScope } from './replacement-scope.ts';

const map = (text: string) => parseDocument(text).contents as YAMLMap;

const resource = (kind: string, name: string, annotations = '') =>
  map(
    `apiVersion: v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n${annotations ? `  annotations: ${annotations}\n` : ''}`,
  );

const config = (replacements: string) =>
  map(`apiVersion: fn.kpt.dev/v1alpha1\nkind: ApplyReplacements\nmetadata:\n  name: r\nreplacements:\n${replacements}`);

const sourceToDeployment = `  - source:
      kind: ConfigMap
      name: settings
      fieldPath: data.replicas
    targets:
      - select:
          kind: Deployment
        fieldPaths: [spec.replicas]
`;

describe('replacementScope', () => {
  it('keeps the source by kind and name and every target of the selected kind', () => {
    const inScope = replacementScope(config(sourceToDeployment))!;
    expect(inScope(resource('ConfigMap', 'settings'))).toBe(true);
    expect(inScope(resource('ConfigMap', 'other'))).toBe(false);
    expect(inScope(resource('Deployment', 'web'))).toBe(true);
    expect(inScope(resource('Deployment', 'api'))).toBe(true);
    expect(inScope(resource('Service', 'web'))).toBe(false);
  });

  it('keeps a resource that kustomize may select by an id it had before', () => {
    const inScope = replacementScope(config(sourceToDeployment))!;
    const renamed = resource('Service', 'web', '{internal.config.kubernetes.io/previousKinds: ConfigMap}');
    expect(inScope(renamed)).toBe(true);
  });

  it('keeps every name of a kind once one selector of that kind names no resource or a pattern', () => {
    const inScope = replacementScope(
      config(`  - source: {kind: ConfigMap, name: settings, fieldPath: data.a}
    targets:
      - select: {kind: ConfigMap, name: "app-.*"}
        fieldPaths: [data.b]
`),
    )!;
    expect(inScope(resource('ConfigMap', 'unrelated'))).toBe(true);
  });

  it('keeps only the targets when there is no source (sourceValue)', () => {
    const inScope = replacementScope(
      config(`  - sourceValue: "3"
    targets:
      - select: {kind: Deployment, name: web}
        fieldPaths: [spec.replicas]
`),
    )!;
    expect(inScope(resource('Deployment', 'web'))).toBe(true);
    expect(inScope(resource('Deployment', 'api'))).toBe(false);
  });

  it.each([
    ['no config', undefined],
    ['no replacements', map('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n')],
    [
      'a kind pattern',
      config(
        '  - source: {kind: "Config.*", fieldPath: data.a}\n    targets:\n      - select: {kind: Deployment}\n        fieldPaths: [a]\n',
      ),
    ],
    [
      'a target without a kind',
      config(
        '  - source: {kind: ConfigMap, fieldPath: data.a}\n    targets:\n      - select: {name: web}\n        fieldPaths: [a]\n',
      ),
    ],
    [
      'a source without a kind',
      config(
        '  - source: {name: settings, fieldPath: data.a}\n    targets:\n      - select: {kind: Deployment}\n        fieldPaths: [a]\n',
      ),
    ],
    [
      'a label selector',
      config(
        '  - source: {kind: ConfigMap, fieldPath: data.a}\n    targets:\n      - select: {kind: Deployment, labelSelector: "app=web"}\n        fieldPaths: [a]\n',
      ),
    ],
    [
      'an annotation selector in a reject',
      config(
        '  - source: {kind: ConfigMap, fieldPath: data.a}\n    targets:\n      - select: {kind: Deployment}\n        reject: [{annotationSelector: "a=b"}]\n        fieldPaths: [a]\n',
      ),
    ],
    ['a replacement read from a path', config('  - path: replacements.yaml\n')],
  ])('sends every resource for %s', (_, functionConfig) => {
    expect(replacementScope(functionConfig)).toBeUndefined();
  });
});
