import { describe, expect, it } from '@jest/globals';
import {
  ensureMergeKeys,
  formatIdentity,
  parseKptMergeComment,
  resourceIdentity,
  upstreamIdentifier,
} from './identity.ts';
import { parseDocuments } from './yaml.ts';

const contentsOf = (text: string) => parseDocuments(text)[0]!.doc.contents;

describe('kpt-merge comments', () => {
  it.each([
    ['kpt-merge: ns/name', { namespace: 'ns', name: 'name' }],
    [' kpt-merge: /nginx', { namespace: '', name: 'nginx' }],
    ['# kpt-merge:  a/b/c ', { namespace: 'a', name: 'b/c' }],
    ['kpt-merge: nameonly', undefined],
    ['some other comment', undefined],
    [undefined, undefined],
  ])('parses %p', (comment, expected) => {
    expect(parseKptMergeComment(comment)).toEqual(expected);
  });

  it('takes identity from the comment on metadata, else from metadata', () => {
    const renamed = contentsOf(
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: # kpt-merge: /nginx\n  name: dev-nginx\n  namespace: dev\n',
    );
    expect(resourceIdentity(renamed)).toEqual({ group: 'apps', kind: 'Deployment', namespace: '', name: 'nginx' });
    const plain = contentsOf('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: ns\n');
    expect(resourceIdentity(plain)).toEqual({ group: '', kind: 'ConfigMap', namespace: 'ns', name: 'cm' });
    expect(formatIdentity(resourceIdentity(plain))).toBe('ConfigMap ns/cm');
    expect(upstreamIdentifier(resourceIdentity(renamed))).toBe('apps|Deployment|default|nginx');
  });
});

describe('ensureMergeKeys', () => {
  it('adds the comment and the upstream-identifier annotation, keeping the rest of the file', () => {
    const text = `# app
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  namespace: my-space
spec:
  replicas: 3 # three
---
apiVersion: v1
kind: Namespace
metadata:
  name: some-app
`;
    const out = ensureMergeKeys(new Map([['app.yaml', Buffer.from(text)]]));
    expect(out.get('app.yaml')?.toString()).toBe(`# app
apiVersion: apps/v1
kind: Deployment
metadata: # kpt-merge: my-space/nginx-deployment
  name: nginx-deployment
  namespace: my-space
  annotations:
    internal.kpt.dev/upstream-identifier: apps|Deployment|my-space|nginx-deployment
spec:
  replicas: 3 # three
---
apiVersion: v1
kind: Namespace
metadata: # kpt-merge: /some-app
  name: some-app
  annotations:
    internal.kpt.dev/upstream-identifier: "|Namespace|default|some-app"
`);
    // idempotent: a second pass changes nothing, so the bytes are the same object
    const again = ensureMergeKeys(out);
    expect(again.get('app.yaml')).toBe(out.get('app.yaml'));
    // the same input again (a fleet): the same output, remembered by content, in the caller's map
    const repeat = ensureMergeKeys(new Map([['app.yaml', Buffer.from(text)]]));
    expect(repeat.get('app.yaml')!.equals(out.get('app.yaml')!)).toBe(true);
    expect(
      ensureMergeKeys(new Map([['other.yaml', Buffer.from(text)]]))
        .get('other.yaml')!
        .toString(),
    ).toBe(out.get('app.yaml')!.toString());
  });

  it('never rewrites an existing kpt-merge comment (renamed resources keep their identity)', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: # kpt-merge: /orig\n  name: renamed\n';
    const out = ensureMergeKeys(new Map([['cm.yaml', Buffer.from(text)]]));
    const result = out.get('cm.yaml')!.toString();
    expect(result).toContain('metadata: # kpt-merge: /orig\n');
    expect(result).toContain('internal.kpt.dev/upstream-identifier: "|ConfigMap|default|orig"');
  });

  it('leaves the Kptfile, non-YAML files and resources without metadata alone', () => {
    const files = new Map([
      ['Kptfile', Buffer.from('apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: x\n')],
      ['README.md', Buffer.from('# hi\n')],
      ['k.yaml', Buffer.from('apiVersion: v1\nkind: List\n')],
    ]);
    const out = ensureMergeKeys(files);
    for (const [path, content] of files) expect(out.get(path)).toBe(content);
  });

  it('marks Kptfiles too when asked (as Porch does after clone and upgrade)', () => {
    const files = new Map([['Kptfile', Buffer.from('apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: x\n')]]);
    expect(ensureMergeKeys(files, { includeKptfile: true }).get('Kptfile')?.toString()).toBe(
      'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata: # kpt-merge: /x\n  name: x\n  annotations:\n    internal.kpt.dev/upstream-identifier: kpt.dev|Kptfile|default|x\n',
    );
  });
});
