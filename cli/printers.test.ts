// What get, describe and events print, from objects as the API server returns them.
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import type { PackageVariant, PackageVariantSet } from '../api/v1alpha1/index.ts';
import {
  describeSet,
  describeVariant,
  humanDuration,
  isOutdated,
  KINDS,
  parseGetFormat,
  printEvents,
  printObjects,
  printTable,
  resolveKind,
} from './printers.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const cond = (type: string, status: 'True' | 'False', reason: string, message = '', at = '2026-12-01T11:55:00Z') => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: at,
});
const pvar = (name: string, extra: Partial<PackageVariant> = {}): PackageVariant => ({
  apiVersion: 'packagevariant.dev/v1alpha1',
  kind: 'PackageVariant',
  metadata: {
    name,
    namespace: 'sites',
    uid: `${name}-uid`,
    generation: 2,
    creationTimestamp: '2026-12-01T11:00:00Z',
    managedFields: [{ manager: 'kubectl' }],
  } as PackageVariant['metadata'],
  spec: { upstream: { repo: 'blueprints', package: 'nginx' }, downstream: { repo: 'deploy', package: name } },
  ...extra,
});
const east = pvar('east', {
  status: {
    observedGeneration: 2,
    lastHandledReconcileAt: '2026-12-01T11:59:00.000Z',
    conditions: [
      cond('Ready', 'True', 'NoErrors', 'successfully ensured downstream package variant'),
      cond('Stalled', 'False', 'Valid'),
    ],
    downstreamTargets: [
      {
        name: 'deploy.east.packagevariant-2',
        lifecycle: 'Draft',
        ref: 'drafts/east/packagevariant-2',
        commit: 'c0ffee0123456789',
        upstreamCommit: 'abcdef0123456789',
        conflicts: [
          {
            file: 'deployment.yaml',
            resource: 'apps Deployment nginx',
            field: 'spec.replicas',
            original: '1',
            updated: '2',
            local: '5',
            winner: 'upstream',
          },
        ],
      },
    ],
  },
});
const west = pvar('west', {
  spec: { ...pvar('west').spec, suspend: true },
  status: {
    conditions: [
      cond('Ready', 'False', 'Suspended', 'suspended (spec.suspend): nothing is written to git'),
      cond('Stalled', 'False', 'Valid'),
    ],
  },
});
const stalled = pvar('north', {
  status: {
    conditions: [
      cond('Ready', 'False', 'UpstreamNotFound', 'gone'),
      cond('Stalled', 'True', 'UpstreamNotFound', 'no nginx'),
    ],
  },
});

describe('kinds and flags', () => {
  it('takes kubectl-style names for a kind', () => {
    for (const name of ['pvar', 'packagevariant', 'PackageVariants', 'packagevariants.packagevariant.dev']) {
      expect(resolveKind(name).kind).toBe('PackageVariant');
    }
    expect(resolveKind('pvrepo').plural).toBe('repositories');
    expect(() => resolveKind('pvrepo', ['PackageVariant', 'PackageVariantSet'])).toThrow(
      'unknown resource type "pvrepo"; use pvar, pvset',
    );
    expect(KINDS.map((k) => k.short)).toEqual(['pvar', 'pvset', 'pvrepo']);
    expect(parseGetFormat('wide')).toBe('wide');
    expect(() => parseGetFormat('xml')).toThrow('unknown output format "xml"; use wide, yaml, json or name');
  });

  it("formats ages as kubectl's HumanDuration", () => {
    const s = 1000;
    expect(
      [
        5 * s,
        119 * s,
        330 * s,
        600 * s,
        179 * 60 * s,
        200 * 60 * s,
        30 * 3600 * s,
        77 * 3600 * s,
        45 * 86400 * s,
        800 * 86400 * s,
      ].map(humanDuration),
    ).toEqual(['5s', '119s', '5m30s', '10m', '179m', '3h20m', '30h', '3d5h', '45d', '2y70d']);
    expect(humanDuration(-5000)).toBe('<invalid>');
  });
});

const cells = (text: string) => text.split('\n').map((line) => line.split(/ {3,}/));

describe('pvctl get', () => {
  const kind = resolveKind('pvar');
  it('prints a table: NAME first, AGE after the default columns', () => {
    expect(cells(printTable(kind, [east, west, stalled], { wide: false, allNamespaces: false, now: NOW }))).toEqual([
      ['NAME', 'READY', 'STATUS', 'UPSTREAM', 'DOWNSTREAM', 'LIFECYCLE', 'CONFLICTS', 'SUSPENDED', 'UPDATES', 'AGE'],
      ['east', 'True', 'NoErrors', 'blueprints/nginx', 'deploy/east', 'Draft', '1', 'false', '-', '60m'],
      ['west', 'False', 'Suspended', 'blueprints/nginx', 'deploy/west', '-', '0', 'true', '-', '60m'],
      ['north', 'False', 'UpstreamNotFound', 'blueprints/nginx', 'deploy/north', '-', '0', 'false', '-', '60m'],
    ]);
  });

  it('-o wide adds the revision, upstream commit and the message; -A a NAMESPACE column', () => {
    const rows = cells(printTable(kind, [east, stalled], { wide: true, allNamespaces: true, now: NOW }));
    expect(rows[0]).toEqual([
      'NAMESPACE',
      'NAME',
      'READY',
      'STATUS',
      'UPSTREAM',
      'DOWNSTREAM',
      'LIFECYCLE',
      'CONFLICTS',
      'SUSPENDED',
      'UPDATES',
      'AGE',
      'REVISION',
      'UPSTREAM-COMMIT',
      'LATEST',
      'LOCKED',
      'MESSAGE',
    ]);
    expect(rows[1]).toEqual([
      'sites',
      'east',
      'True',
      'NoErrors',
      'blueprints/nginx',
      'deploy/east',
      'Draft',
      '1',
      'false',
      '-',
      '60m',
      'deploy.east.packagevariant-2',
      'abcdef012345',
      '-',
      '-',
    ]);
    expect(rows[2]!.slice(-3)).toEqual(['-', '-', 'no nginx']);
  });

  it('prints sets and repositories with their own columns', () => {
    const set: PackageVariantSet = {
      metadata: { name: 'fleet', namespace: 'sites', creationTimestamp: '2026-11-29T12:00:00Z' },
      spec: { upstream: { repo: 'blueprints', package: 'nginx', revision: 3 }, suspend: true },
      status: {
        conditions: [cond('Ready', 'False', 'Suspended', 'suspended'), cond('Stalled', 'False', 'Valid')],
        variants: { total: 5, upToDate: 2, waiting: 1, draftPending: 1, conflicted: 1, failed: 0 },
        rollout: { currentStage: 'canary' },
      },
    };
    expect(cells(printTable(resolveKind('pvset'), [set], { wide: true, allNamespaces: false, now: NOW }))).toEqual([
      [
        'NAME',
        'READY',
        'STATUS',
        'UPSTREAM',
        'VARIANTS',
        'UP-TO-DATE',
        'PENDING',
        'CONFLICTED',
        'FAILED',
        'SUSPENDED',
        'AGE',
        'STAGE',
        'MESSAGE',
      ],
      [
        'fleet',
        'False',
        'Suspended',
        'blueprints/nginx@v3',
        '5',
        '2',
        '2',
        '1',
        '0',
        'true',
        '2d',
        'canary',
        'suspended',
      ],
    ]);
    const repo = {
      metadata: { name: 'deploy', creationTimestamp: '2026-12-01T11:59:30Z' },
      spec: {
        type: 'git',
        deployment: true,
        git: { repo: 'https://git.example/deploy.git', branch: 'live', directory: 'sites' },
      },
    };
    expect(cells(printTable(resolveKind('pvrepo'), [repo], { wide: true, allNamespaces: false, now: NOW }))).toEqual([
      ['NAME', 'READY', 'TYPE', 'DEPLOYMENT', 'ADDRESS', 'AGE', 'BRANCH', 'DIRECTORY', 'SECRET'],
      ['deploy', '-', 'git', 'true', 'https://git.example/deploy.git', '30s', 'live', 'sites', '-'],
    ]);
  });

  it('UPDATES: up to date, behind N (since when), not published, or - before the upstream was resolved; -o wide the revisions', () => {
    const V1 = '1'.repeat(40);
    const V3 = '3'.repeat(40);
    const withUpstream = (name: string, upstream: NonNullable<PackageVariant['status']>['upstream']) =>
      pvar(name, { status: { ...east.status, upstream } });
    const latest = { ref: 'nginx/v3', revision: 3, commit: V3 };
    const variants = [
      withUpstream('current', { latest, locked: latest, behind: 0 }),
      withUpstream('behind', {
        latest,
        locked: { ref: 'nginx/v1', revision: 1, commit: V1 },
        behind: 2,
        behindSince: '2026-11-28T10:00:00Z',
      }),
      withUpstream('branch', { latest: { ref: 'main', commit: V3 }, locked: { commit: V1 }, behind: 1 }),
      withUpstream('fresh', { latest }),
      west,
    ];
    const rows = cells(printTable(kind, variants, { wide: true, allNamespaces: false, now: NOW }));
    const column = (header: string) => rows.map((r) => r[rows[0]!.indexOf(header)]);
    expect(column('UPDATES')).toEqual([
      'UPDATES',
      'up to date',
      'behind 2 (since 3d2h)',
      'behind 1',
      'not published',
      '-',
    ]);
    expect(column('LATEST')).toEqual(['LATEST', 'nginx/v3', 'nginx/v3', 'main', 'nginx/v3', '-']);
    expect(column('LOCKED')).toEqual(['LOCKED', 'nginx/v3', 'nginx/v1', '111111111111', '-', '-']);
    expect(variants.filter(isOutdated).map((pv) => pv.metadata?.name)).toEqual(['behind', 'branch']);
  });

  it('-o yaml|json of many objects is a kind: List, of one NAME the object; no managedFields; -o name', () => {
    const list = parse(printObjects(kind, [east, west], 'yaml', false));
    expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' } });
    expect(list.items.map((o: PackageVariant) => o.metadata?.name)).toEqual(['east', 'west']);
    expect(list.items[0].metadata).not.toHaveProperty('managedFields');
    const one = JSON.parse(printObjects(kind, [east], 'json', true));
    expect(one).toMatchObject({ kind: 'PackageVariant', metadata: { name: 'east' } });
    expect(JSON.parse(printObjects(kind, [east], 'json', false)).kind).toBe('List');
    expect(printObjects(kind, [east, west], 'name', false)).toBe(
      'packagevariant.packagevariant.dev/east\npackagevariant.packagevariant.dev/west',
    );
  });
});

const events = [
  {
    type: 'Warning',
    reason: 'MergeConflicts',
    message: '1 conflict',
    count: 3,
    lastTimestamp: '2026-12-01T11:58:00Z',
    involvedObject: { kind: 'PackageVariant', name: 'east', namespace: 'sites' },
    source: { component: 'packagevariant-controller' },
  },
  {
    type: 'Normal',
    reason: 'DraftCreated',
    message: 'created draft',
    lastTimestamp: '2026-12-01T11:50:00Z',
    involvedObject: { kind: 'PackageVariant', name: 'east', namespace: 'sites' },
    source: { component: 'packagevariant-controller' },
  },
];

describe('pvctl events', () => {
  it('lists events oldest first with their count, as kubectl events', () => {
    expect(cells(printEvents(events, { allNamespaces: false, now: NOW }))).toEqual([
      ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
      ['10m', 'Normal', 'DraftCreated', 'packagevariant/east', 'created draft'],
      ['2m (x3)', 'Warning', 'MergeConflicts', 'packagevariant/east', '1 conflict'],
    ]);
  });
});

describe('pvctl describe', () => {
  it('shows a variant: spec, status, conditions, targets, conflicts and events', () => {
    const text = describeVariant(east, events, NOW);
    expect(text).toMatch(/^Name: +east\nNamespace: +sites\n/);
    expect(text).toMatch(/\nSuspended: +false\n/);
    expect(text).toMatch(/\nUpstream: +blueprints\/nginx \(latest published revision\)\n/);
    expect(text).toMatch(/\nPolicies: +adoption adoptNone, deletion delete, publish Manual\n/);
    expect(text).toMatch(
      /\n {2}Observed Generation: +2 \(generation 2\)\n {2}Last Handled Reconcile: +2026-12-01T11:59:00.000Z\n/,
    );
    expect(text).toMatch(/\n {4}Ready +True +NoErrors +5m +successfully ensured downstream package variant\n/);
    expect(text).toMatch(
      /\n {4}deploy\.east\.packagevariant-2 +Draft +drafts\/east\/packagevariant-2 +c0ffee012345 +abcdef012345 +1 +-\n/,
    );
    expect(text).toMatch(/\n {4}deployment\.yaml +apps Deployment nginx +spec\.replicas +upstream +1 +2 +5\n/);
    expect(text).toMatch(
      /\nEvents:\n {2}TYPE +REASON +AGE +FROM +MESSAGE\n {2}Normal +DraftCreated +10m +packagevariant-controller +created draft\n/,
    );
    expect(describeVariant(west, [], NOW)).toMatch(/\nSuspended: +true\n[^]*\nEvents: +<none>$/);
    expect(describeVariant(west, [], NOW)).toMatch(/\n {2}Upstream Revisions: +<unknown>\n {2}Downstream Targets/);
  });

  it('shows how far the published downstream is behind its upstream (status.upstream)', () => {
    const behind = pvar('east', {
      status: {
        ...east.status,
        upstream: {
          latest: { ref: 'nginx/v3', revision: 3, commit: '3'.repeat(40) },
          locked: { ref: 'nginx/v1', revision: 1, commit: '1'.repeat(40) },
          behind: 2,
          behindSince: '2026-11-28T10:00:00Z',
        },
      },
    });
    expect(describeVariant(behind, [], NOW)).toMatch(
      /\n {2}Upstream Revisions: +behind 2 \(since 2026-11-28T10:00:00Z, 3d2h ago\)\n {4}Latest: +nginx\/v3 \(333333333333\): the upstream the variant follows\n {4}Locked: +nginx\/v1 \(111111111111\): in the latest published revision\n {2}Downstream Targets:\n/,
    );
    const fresh = pvar('east', { status: { upstream: { latest: { ref: 'main', commit: 'a'.repeat(40) } } } });
    expect(describeVariant(fresh, [], NOW)).toMatch(
      /\n {2}Upstream Revisions: +not published\n {4}Latest: +main \(aaaaaaaaaaaa\): the upstream the variant follows\n {4}Locked: +<none>\n/,
    );
  });

  it('shows a set: targets, rollout, counts and its generated variants', () => {
    const set: PackageVariantSet = {
      metadata: { name: 'fleet', namespace: 'sites', uid: 'u', generation: 1 },
      spec: {
        upstream: { repo: 'blueprints', package: 'nginx' },
        targets: [
          { repositories: [{ name: 'deploy', packageNames: ['east', 'west'] }] },
          { repositorySelector: { matchLabels: { env: 'prod' } } },
        ],
        rollout: { stages: [{ name: 'canary' }, { name: 'rest' }], maxConcurrent: 2 },
      },
      status: {
        observedGeneration: 1,
        conditions: [cond('Ready', 'True', 'Reconciled', 'ok')],
        variants: { total: 2, upToDate: 1, waiting: 1, draftPending: 0, conflicted: 0, failed: 0 },
        rollout: { currentStage: 'canary', message: 'stage canary: 1 of 1 released', released: ['east'] },
      },
    };
    const text = describeSet(set, [east, west], [], NOW);
    expect(text).toMatch(
      /\nTargets:\n {2}\[0\]: +repository deploy \(east, west\)\n {2}\[1\]: +repositories selected by env=prod\n/,
    );
    expect(text).toMatch(/\nRollout: +stages canary → rest, maxConcurrent 2, maxFailures 0\n/);
    expect(text).toMatch(
      /\n {2}Variants: +2 total: 1 up to date, 1 waiting, 0 draft pending, 0 conflicted, 0 failed\n/,
    );
    expect(text).toMatch(/\n {4}Current Stage: +canary\n/);
    expect(text).toMatch(
      /\nGenerated Variants:\n {2}NAME +READY +STATUS +DOWNSTREAM +LIFECYCLE +CONFLICTS +SUSPENDED\n {2}east +True +NoErrors +deploy\/east +Draft +1 +false\n {2}west +False +Suspended +deploy\/west +- +0 +true\n/,
    );
  });
});
