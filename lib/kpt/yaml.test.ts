import { describe, expect, it } from '@jest/globals';
import type { YAMLMap, YAMLSeq } from 'yaml';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { cloneNode } from './yaml.ts';

const text = `# head
apiVersion: apps/v1 # inline
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: "x"}
spec:
  base: &base {a: 1}
  copy: *base
  list:
    # before
    - 'one'
    - |
      block
    - 0x1F
    - ~
`;

describe('cloneNode', () => {
  it('copies every node with its comments, styles, anchors and source ranges', () => {
    const doc = parseDocument(text);
    const before = doc.toString();
    const copy = doc.clone();
    copy.contents = cloneNode(doc.contents!);
    expect(copy.toString()).toBe(before);
    const labels = copy.getIn(['metadata', 'labels'], true) as YAMLMap;
    expect(isMap(labels) && labels.flow).toBe(true);
    expect(labels.range).toEqual((doc.getIn(['metadata', 'labels'], true) as YAMLMap).range);
    expect(isSeq(copy.getIn(['spec', 'list'], true))).toBe(true);
    expect(isScalar(copy.getIn(['spec', 'list', 2], true))).toBe(true);
  });

  it('shares nothing a change can reach with the original', () => {
    const doc = parseDocument(text);
    const before = doc.toString();
    const start = doc.contents!.range![0];
    const contents = cloneNode(doc.contents as YAMLMap);
    (contents.getIn(['metadata', 'labels']) as YAMLMap).set('app', 'api');
    (contents.getIn(['spec', 'list']) as YAMLSeq).add('two');
    contents.setIn(['metadata', 'name'], 'api');
    (contents.getIn(['kind'], true) as { comment?: string }).comment = 'changed';
    (contents.range ?? [])[0] = 99;
    expect(doc.toString()).toBe(before);
    expect(doc.contents!.range![0]).toBe(start);
  });
});
