import { describe, expect, it } from '@jest/globals';
import { carriedFields, commonCarried } from './carried.ts';
import { ensureMergeKeys } from './identity.ts';

const files = (entries: Record<string, string>) =>
  new Map(Object.entries(entries).map(([k, v]) => [k, Buffer.from(v)]));
const kptfile = (name: string, lock = '') =>
  `apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: ${name}\n${lock}info:\n  description: app\n`;
const deployment = (replicas: number, env = '') =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: ${replicas}\n  template:\n    spec:\n      containers:\n        - name: web\n          image: web:1\n          env:\n            - name: MODE\n              value: prod\n${env}`;

const upstream = files({ Kptfile: kptfile('app'), 'web.yaml': deployment(1), 'README.md': 'app\n' });

/** A downstream as clone makes it (merge keys, context, renamed Kptfile with upstream and lock), then edited. */
function downstream(replicas: number, extra: Record<string, string> = {}, env = '') {
  return ensureMergeKeys(
    files({
      Kptfile: kptfile('berlin', 'upstream:\n  type: git\nupstreamLock:\n  type: git\n'),
      'web.yaml': deployment(replicas, env),
      'README.md': 'app\n',
      'package-context.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kptfile.kpt.dev\n  annotations:\n    config.kubernetes.io/local-config: "true"\ndata:\n  name: berlin\n',
      ...extra,
    }),
  );
}

describe('carriedFields', () => {
  it('is empty for a fresh clone: merge keys, context, name, upstream and lock are bookkeeping', () => {
    expect(carriedFields(upstream, downstream(1))).toEqual([]);
  });

  it('lists changed, added and removed fields, lists keyed by name', () => {
    const env = '            - name: CACHE\n              value: "on"\n';
    expect(
      carriedFields(
        upstream,
        downstream(
          5,
          { 'extra.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n', 'notes.txt': 'x' },
          env,
        ),
      ),
    ).toEqual([
      { file: 'extra.yaml', resource: 'Service web', field: '(resource)', downstream: 'added' },
      { file: 'notes.txt', resource: '(file)', field: '(content)' },
      { file: 'web.yaml', resource: 'Deployment.apps web', field: 'spec.replicas', upstream: '1', downstream: '5' },
      {
        file: 'web.yaml',
        resource: 'Deployment.apps web',
        field: 'spec.template.spec.containers[name=web].env[name=CACHE]',
        downstream: '{"name":"CACHE","value":"on"}',
      },
    ]);
  });

  it('finds what several downstreams carry alike', () => {
    const common = commonCarried(
      new Map([
        ['berlin', carriedFields(upstream, downstream(5))],
        ['paris', carriedFields(upstream, downstream(5))],
        ['rome', carriedFields(upstream, downstream(3))],
      ]),
    );
    expect(common).toEqual([
      expect.objectContaining({
        field: 'spec.replicas',
        upstream: '1',
        downstream: '5',
        packages: ['berlin', 'paris'],
      }),
    ]);
  });
});
