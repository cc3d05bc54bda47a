// The cluster commands of pvctl as a person runs them (child processes, the test API server's
// kubeconfig) next to a running controller: get, describe, events, request-reconcile, suspend and
// resume of a PackageVariant and of a PackageVariantSet, with real git behind.
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { PackageVariant } from '../api/v1alpha1/index.ts';
import { blueprint } from '../controllers/testing/fixtures.ts';
import { adminClients, eventually } from './helpers.ts';
import { condition } from './packagevariant-env.ts';
import { setCondition, useSetEnv } from './packagevariantset-env.ts';

const PVCTL = join(import.meta.dirname, '..', 'cli', 'pvctl.ts');
const TIMEOUT_MS = 90_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `pvctl ARGS --kubeconfig <test API server>`, asynchronously: the controller runs in this process. */
function pvctl(args: string[], { namespace, kubeconfig = true }: { namespace?: string; kubeconfig?: boolean } = {}) {
  const full = [
    ...args,
    ...(kubeconfig ? ['--kubeconfig', process.env.TESTENV_KUBECONFIG!] : []),
    ...(namespace ? ['-n', namespace] : []),
  ];
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', PVCTL, ...full], {
      env: { ...process.env, KUBECONFIG: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const cells = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/ {3,}/));
const ready = (pv: PackageVariant) => condition(pv, 'Ready');

describe('pvctl cluster commands (cluster, real git)', () => {
  const env = useSetEnv();

  it(
    'a variant: get, describe, events; request-reconcile fetches git now; suspend writes nothing, resume catches up',
    async () => {
      const ns = env.namespace();
      const upstream = await env.repo('blueprints');
      const deploy = await env.repo('deploy');
      await upstream.publish('nginx', blueprint('nginx'), 1);
      await env.createRepository('blueprints', upstream.url);
      await env.createRepository('deploy', deploy.url, true);
      await env.createVariant('east', {
        upstream: { repo: 'blueprints', package: 'nginx' },
        downstream: { repo: 'deploy', package: 'east' },
        publishPolicy: 'Automatic',
      });
      // Git is polled every 10 minutes: only a request makes the controller look at git again soon.
      await env.start({ pollIntervalMs: 600_000 });
      await env.waitFor(
        'east',
        (pv) => ready(pv)?.status === 'True' && pv.status?.downstreamTargets?.[0]?.lifecycle === 'Published',
      );

      const get = await pvctl(['get', 'pvar'], { namespace: ns });
      expect(get).toMatchObject({ code: 0, stderr: '' });
      const [header, row] = cells(get.stdout);
      expect(header).toEqual([
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
      ]);
      expect(row!.slice(0, 9)).toEqual([
        'east',
        'True',
        'NoErrors',
        'blueprints/nginx',
        'deploy/east',
        'Published',
        '0',
        'false',
        'up to date',
      ]);
      expect(row![9]).toMatch(/^\d+s$/);
      expect(await pvctl(['get', 'pvar', '--outdated'], { namespace: ns })).toMatchObject({
        code: 0,
        stdout: '',
        stderr: `No outdated resources found in ${ns} namespace.\n`,
      });

      const all = await pvctl(['get', 'pvar', '-A', '-o', 'wide']);
      const mine = cells(all.stdout).find((r) => r[0] === ns);
      expect(cells(all.stdout)[0]!.slice(0, 2)).toEqual(['NAMESPACE', 'NAME']);
      expect(mine?.slice(0, 2)).toEqual([ns, 'east']);
      expect(mine?.[11]).toMatch(/^deploy\.east\.packagevariant-\d+$/);
      expect(mine?.slice(13, 15)).toEqual(['nginx/v1', 'nginx/v1']); // LATEST, LOCKED

      const list = parse((await pvctl(['get', 'pvrepo', '-o', 'yaml'], { namespace: ns })).stdout);
      expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List' });
      expect(list.items.map((r: PackageVariant) => r.metadata?.name)).toEqual(['blueprints', 'deploy']);
      const one = JSON.parse((await pvctl(['get', 'pvar', 'east', '-o', 'json'], { namespace: ns })).stdout);
      expect(one).toMatchObject({ kind: 'PackageVariant', metadata: { name: 'east', namespace: ns } });
      expect(one.metadata).not.toHaveProperty('managedFields');
      expect((await pvctl(['get', 'pvar', '-o', 'name'], { namespace: ns })).stdout).toBe(
        'packagevariant.packagevariant.dev/east\n',
      );
      const missing = await pvctl(['get', 'pvar', 'nope'], { namespace: ns });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^pvctl: error from server \(NotFound\): .*"nope" not found\n$/);
      expect(await pvctl(['get', 'pvset'], { namespace: ns })).toMatchObject({
        code: 0,
        stdout: '',
        stderr: `No resources found in ${ns} namespace.\n`,
      });
      const badContext = await pvctl(['get', 'pvar', '--context', 'nowhere'], { namespace: ns });
      expect(badContext.code).toBe(64);
      expect(badContext.stderr).toMatch(/^pvctl: no context "nowhere" in the kubeconfig/);

      // A new upstream revision, which the controller would only see at the next poll.
      const v2 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
      const requested = await pvctl(['request-reconcile', 'pvar', 'east', '--timeout', '60s'], { namespace: ns });
      expect(requested.stdout).toMatch(
        new RegExp(
          `^PackageVariant ${ns}/east: reconcile requested at (\\S+)\\nPackageVariant ${ns}/east: Ready=True NoErrors: `,
        ),
      );
      expect(requested.code).toBe(0);
      const at = /requested at (\S+)/.exec(requested.stdout)![1];
      const afterRequest = (await env.getVariant('east'))!;
      expect(afterRequest.status?.lastHandledReconcileAt).toBe(at);
      expect(afterRequest.status?.downstreamTargets?.[0]).toMatchObject({
        lifecycle: 'Published',
        ref: 'east/v2',
        upstreamCommit: v2,
      });
      expect(await deploy.show('east/v2', 'east/deployment.yaml')).toContain('image: nginx:1.27');

      // Suspended: observed, nothing written, even on request.
      expect(await pvctl(['suspend', 'pvar', 'east'], { namespace: ns })).toMatchObject({
        code: 0,
        stdout: `PackageVariant ${ns}/east suspended\n`,
      });
      await env.waitFor('east', (pv) => ready(pv)?.reason === 'Suspended');
      const v3 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.28' }), 3);
      const tags = await deploy.refs('refs/tags');
      const whileSuspended = await pvctl(['request-reconcile', 'pvar', 'east'], { namespace: ns });
      expect(whileSuspended.code).toBe(1);
      expect(whileSuspended.stderr).toBe(
        `PackageVariant ${ns}/east is suspended: it is observed, nothing is written (pvctl resume)\n`,
      );
      expect(whileSuspended.stdout).toContain(
        `PackageVariant ${ns}/east: Ready=False Suspended: suspended (spec.suspend): nothing is written to git; upstream ${v3.slice(0, 12)} is not in the downstream yet`,
      );
      expect(await deploy.refs('refs/tags')).toEqual(tags);
      expect(await deploy.refs('refs/heads/drafts')).toEqual([]);
      const suspendedRow = cells((await pvctl(['get', 'pvar'], { namespace: ns })).stdout)[1]!;
      expect([suspendedRow[1], suspendedRow[2], suspendedRow[7]]).toEqual(['False', 'Suspended', 'true']);
      // Observed while suspended: the published downstream (upstream v2) is one upstream revision behind.
      expect((await env.getVariant('east'))!.status?.upstream).toMatchObject({
        latest: { ref: 'nginx/v3', revision: 3, commit: v3 },
        locked: { ref: 'nginx/v2', revision: 2, commit: v2 },
        behind: 1,
        behindSince: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      });
      const outdated = await pvctl(['get', 'pvar', '--outdated'], { namespace: ns });
      expect(outdated).toMatchObject({ code: 0, stderr: '' });
      const outdatedRows = cells(outdated.stdout);
      expect(outdatedRows.map((r) => r[0])).toEqual(['NAME', 'east']);
      expect(outdatedRows[1]![8]).toMatch(/^behind 1 \(since \d+s\)$/);
      expect((await pvctl(['get', 'pvar', '--outdated', '-o', 'name'], { namespace: ns })).stdout).toBe(
        'packagevariant.packagevariant.dev/east\n',
      );
      expect((await pvctl(['describe', 'pvar', 'east'], { namespace: ns })).stdout).toMatch(
        /\n {2}Upstream Revisions: +behind 1 \(since \S+, \d+s ago\)\n {4}Latest: +nginx\/v3 \([0-9a-f]{12}\)[^\n]*\n {4}Locked: +nginx\/v2 /,
      );

      const resumed = await pvctl(['resume', 'pvar', 'east', '--wait'], { namespace: ns });
      expect(resumed.stdout).toMatch(
        new RegExp(`^PackageVariant ${ns}/east resumed\\nPackageVariant ${ns}/east: Ready=True NoErrors`),
      );
      expect(resumed.code).toBe(0);
      expect((await env.getVariant('east'))!.spec).not.toHaveProperty('suspend');
      expect(await deploy.show('east/v3', 'east/deployment.yaml')).toContain('image: nginx:1.28');
      expect((await env.getVariant('east'))!.status?.upstream).toMatchObject({ locked: { revision: 3 }, behind: 0 });
      expect((await pvctl(['get', 'pvar', '--outdated'], { namespace: ns })).stderr).toBe(
        `No outdated resources found in ${ns} namespace.\n`,
      );

      // describe and events: the publishes the controller recorded.
      const events = await eventually(async () => {
        const run = await pvctl(['events', 'pvar', 'east'], { namespace: ns });
        const rows = cells(run.stdout);
        if (rows.filter((r) => r[2] === 'DraftPublished').length < 3) throw new Error(run.stdout + run.stderr);
        return rows;
      }, 20_000);
      expect(events[0]).toEqual(['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
      expect(events.filter((r) => r[2] === 'DraftPublished').map((r) => [r[1], r[3], r[4]])).toEqual([
        ['Normal', 'packagevariant/east', 'published east v1 (publishPolicy Automatic)'],
        ['Normal', 'packagevariant/east', 'published east v2 (publishPolicy Automatic)'],
        ['Normal', 'packagevariant/east', 'published east v3 (publishPolicy Automatic)'],
      ]);
      const warnings = await pvctl(['events', '--types', 'Warning'], { namespace: ns });
      expect(warnings).toMatchObject({ code: 0, stderr: `No events found in ${ns} namespace.\n` });
      const described = await pvctl(['describe', 'pvar', 'east'], { namespace: ns });
      expect(described.code).toBe(0);
      expect(described.stdout).toMatch(new RegExp(`^Name: +east\\nNamespace: +${ns}\\n`));
      expect(described.stdout).toMatch(/\nSuspended: +false\n/);
      expect(described.stdout).toMatch(
        /\n {4}Ready +True +NoErrors +\S+ +successfully ensured downstream package variant\n/,
      );
      expect(described.stdout).toMatch(
        /\n {4}deploy\.east\.packagevariant-\d+ +Published +east\/v3 +[0-9a-f]{12} +[0-9a-f]{12} +0 +/,
      );
      expect(described.stdout).toMatch(
        /\n {2}Normal +DraftPublished +\S+ +packagevariant-controller +published east v3/,
      );
      expect(described.stdout).toMatch(/\n {2}Last Handled Reconcile: +\S+\n/);
      expect(described.stdout).toMatch(/\n {2}Upstream Revisions: +up to date\n/);
    },
    TIMEOUT_MS,
  );

  it(
    'a set: suspended, it creates no variant and its variants write nothing; resumed, they catch up',
    async () => {
      const ns = env.namespace();
      const { upstream, repos } = await env.setupSites({ east: { env: 'prod' }, west: { env: 'prod' } });
      await env.createSet('fleet', {
        upstream: { repo: 'blueprints', package: 'nginx', revision: -1 },
        targets: [
          { repositorySelector: { matchLabels: { env: 'prod' } }, template: { downstream: { package: 'web' } } },
        ],
      });
      await env.waitForSet(
        'fleet',
        (s) => setCondition(s, 'Ready')?.status === 'True' && s.status?.variants?.draftPending === 2,
        30_000,
      );
      const drafts = async () => [
        ...(await repos.east!.refs('refs/heads/drafts')),
        ...(await repos.west!.refs('refs/heads/drafts')),
      ];
      expect(await drafts()).toHaveLength(2);

      // the lineage, read from the cluster: the set's variants as edges from the blueprint
      const tree = await pvctl(['tree'], { namespace: ns });
      expect(tree).toMatchObject({ code: 0, stderr: '' });
      expect(tree.stdout.trimEnd().split('\n')).toEqual([
        'blueprints:nginx',
        expect.stringMatching(new RegExp(`^├── east:web  \\(${ns}/\\S+\\)$`)),
        expect.stringMatching(new RegExp(`^└── west:web  \\(${ns}/\\S+\\)$`)),
      ]);
      const dependents = await pvctl(['tree', '--dependents', 'blueprints/nginx', '-o', 'json'], { namespace: ns });
      expect(JSON.parse(dependents.stdout).dependents.map((d: { downstream: string }) => d.downstream)).toEqual([
        'east:web',
        'west:web',
      ]);

      const suspended = await pvctl(['suspend', 'pvset', 'fleet'], { namespace: ns });
      expect(suspended).toMatchObject({ code: 0, stdout: `PackageVariantSet ${ns}/fleet suspended\n` });
      await env.waitForSet('fleet', (s) => setCondition(s, 'Ready')?.reason === 'Suspended');
      // Its variants read the set: suspended too.
      await eventually(async () => {
        const variants = [...(await env.variants()).values()];
        expect(variants.map((pv) => ready(pv)?.reason)).toEqual(['Suspended', 'Suspended']);
        expect(ready(variants[0]!)?.message).toMatch(/^suspended \(PackageVariantSet fleet is suspended\)/);
      }, 20_000);
      const heads = await Promise.all([repos.east!.refs('refs/heads'), repos.west!.refs('refs/heads')]);
      const commits = await Promise.all(
        (await drafts()).map((ref, i) => (i === 0 ? repos.east! : repos.west!).message(ref)),
      );

      // A new upstream revision and a new site: nothing happens while suspended.
      const v2 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
      const north = await env.repo('north');
      await env.createLabelledRepository('north', north.url, { env: 'prod' });
      const pending = await env.waitForSet('fleet', (s) =>
        /pending: 1 to create/.test(setCondition(s, 'Ready')?.message ?? ''),
      );
      expect(setCondition(pending, 'Ready')?.message).toBe(
        'suspended (spec.suspend): no PackageVariant is created, updated or deleted, and its variants write nothing to git; pending: 1 to create',
      );
      await new Promise((resolve) => setTimeout(resolve, 2_000)); // several git polls (300 ms)
      expect((await env.variants()).size).toBe(2);
      expect(await Promise.all([repos.east!.refs('refs/heads'), repos.west!.refs('refs/heads')])).toEqual(heads);
      expect(
        await Promise.all((await drafts()).map((ref, i) => (i === 0 ? repos.east! : repos.west!).message(ref))),
      ).toEqual(commits);

      const row = cells((await pvctl(['get', 'pvset'], { namespace: ns })).stdout)[1]!;
      expect([row[0], row[1], row[2], row[4], row[9]]).toEqual(['fleet', 'False', 'Suspended', '2', 'true']);
      const described = await pvctl(['describe', 'pvset', 'fleet'], { namespace: ns });
      expect(described.stdout).toMatch(/\nSuspended: +true\n/);
      expect(described.stdout).toMatch(/\nTargets:\n {2}\[0\]: +repositories selected by env=prod\n/);
      expect(described.stdout).toMatch(/\nGenerated Variants:\n {2}NAME +READY +STATUS/);
      expect(described.stdout.match(/\n {2}fleet-\S+ +False +Suspended +\S+\/web /g)).toHaveLength(2);

      const resumed = await pvctl(['resume', 'pvset', 'fleet', '--wait'], { namespace: ns });
      expect(resumed.stdout).toMatch(
        new RegExp(`^PackageVariantSet ${ns}/fleet resumed\\nPackageVariantSet ${ns}/fleet: Ready=`),
      );
      await env.waitForSet(
        'fleet',
        (s) => setCondition(s, 'Ready')?.status === 'True' && s.status?.variants?.total === 3,
        30_000,
      );
      await eventually(async () => {
        const variants = [...(await env.variants()).values()];
        expect(variants.map((pv) => pv.status?.downstreamTargets?.[0]?.upstreamCommit)).toEqual([v2, v2, v2]);
      }, 30_000);
      expect(await repos.east!.show('drafts/web/packagevariant-1', 'web/deployment.yaml')).toContain(
        'image: nginx:1.27',
      );

      // A request for the set and, with --with-variants, each of its variants: all handled.
      const all = await pvctl(['request-reconcile', 'pvset', 'fleet', '--with-variants'], { namespace: ns });
      expect(all.stderr).toBe('');
      expect(all.code).toBe(0);
      const lines = all.stdout.trimEnd().split('\n');
      expect(lines.filter((l) => / reconcile requested at /.test(l))).toHaveLength(4);
      expect(lines.filter((l) => /: Ready=True /.test(l))).toHaveLength(4);
      for (const pv of (await env.variants()).values()) {
        expect(pv.status?.lastHandledReconcileAt).toBe(/requested at (\S+)/.exec(all.stdout)![1]);
      }
    },
    TIMEOUT_MS,
  );

  it(
    'flags: --context and its namespace, -l, several NAMEs as a List, --no-wait, events -A and -o json, describe of a namespace',
    async () => {
      const ns = env.namespace();
      await env.createRepository('blueprints', 'https://git.example/blueprints.git');
      await env.createRepository('deploy', 'https://git.example/deploy.git', true);
      const spec = (name: string) => ({
        upstream: { repo: 'blueprints', package: 'nginx' },
        downstream: { repo: 'deploy', package: name },
      });
      await env.createVariant('a', spec('a'));
      await env.createVariant('b', spec('b'));
      await env.patchVariant('b', { metadata: { labels: { tier: 'gold' } } });

      // A kubeconfig whose second context points at the same server with this namespace.
      const kubeconfig = parse(readFileSync(process.env.TESTENV_KUBECONFIG!, 'utf8'));
      const current = kubeconfig.contexts.find((c: { name: string }) => c.name === kubeconfig['current-context']);
      kubeconfig.contexts.push({ name: 'team', context: { ...current.context, namespace: ns } });
      const file = join(env.root(), 'kubeconfig.yaml');
      writeFileSync(file, stringify(kubeconfig));
      const viaContext = await pvctl(['get', 'pvar', '-o', 'name', '--kubeconfig', file, '--context', 'team'], {
        kubeconfig: false,
      });
      expect(viaContext).toMatchObject({
        code: 0,
        stdout: 'packagevariant.packagevariant.dev/a\npackagevariant.packagevariant.dev/b\n',
      });
      // The current context has no namespace: default, where there is nothing.
      expect((await pvctl(['get', 'pvar', '--kubeconfig', file], { kubeconfig: false })).stderr).toBe(
        'No resources found in default namespace.\n',
      );

      expect((await pvctl(['get', 'pvar', '-l', 'tier=gold', '-o', 'name'], { namespace: ns })).stdout).toBe(
        'packagevariant.packagevariant.dev/b\n',
      );
      expect((await pvctl(['get', 'pvar', '-l', 'tier!=gold', '-o', 'name'], { namespace: ns })).stdout).toBe(
        'packagevariant.packagevariant.dev/a\n',
      );
      const two = parse((await pvctl(['get', 'pvar', 'b', 'a', '-o', 'yaml'], { namespace: ns })).stdout);
      expect(two.kind).toBe('List');
      expect(two.items.map((pv: PackageVariant) => pv.metadata?.name)).toEqual(['b', 'a']);

      // No controller runs in this test: --no-wait returns at once; the annotation is there.
      const noWait = await pvctl(['request-reconcile', 'pvar', 'a', '--no-wait'], { namespace: ns });
      expect(noWait.code).toBe(0);
      const at = /requested at (\S+)$/m.exec(noWait.stdout)![1];
      expect((await env.getVariant('a'))!.metadata?.annotations).toEqual({
        'packagevariant.dev/reconcile-requested-at': at,
      });
      const waited = await pvctl(['request-reconcile', 'pvar', 'a', '--timeout', '1s'], { namespace: ns });
      expect(waited.code).toBe(1);
      expect(waited.stderr).toBe(
        `PackageVariant ${ns}/a: the request was not handled in 1s: is the controller (pvctl run) running and watching namespace ${ns}?\n`,
      );
      expect(await pvctl(['resume', 'pvar', 'a'], { namespace: ns })).toMatchObject({
        code: 0,
        stdout: `PackageVariant ${ns}/a resumed\n`,
      });

      // Events: written as the controller writes them (core/v1), read back by pvctl.
      const { core } = adminClients();
      for (const [name, reason, type] of [
        ['a', 'DraftCreated', 'Normal'],
        ['b', 'MergeConflicts', 'Warning'],
      ] as const) {
        const uid = (await env.getVariant(name))!.metadata!.uid!;
        await core.createNamespacedEvent({
          namespace: ns,
          body: {
            metadata: { name: `${name}.e2e`, namespace: ns },
            involvedObject: {
              apiVersion: 'packagevariant.dev/v1alpha1',
              kind: 'PackageVariant',
              name,
              namespace: ns,
              uid,
            },
            reason,
            type,
            message: `${reason} of ${name}`,
            count: 2,
            firstTimestamp: new Date(Date.now() - 60_000),
            lastTimestamp: new Date(),
            source: { component: 'packagevariant-controller' },
          },
        });
      }
      const json = JSON.parse((await pvctl(['events', '-o', 'json'], { namespace: ns })).stdout);
      expect(json.kind).toBe('List');
      expect(json.items.map((e: { reason: string }) => e.reason).sort()).toEqual(['DraftCreated', 'MergeConflicts']);
      const allNs = cells((await pvctl(['events', '-A', '--types', 'Warning'])).stdout);
      expect(allNs[0]).toEqual(['NAMESPACE', 'LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
      expect(allNs.filter((r) => r[0] === ns)).toEqual([
        [
          ns,
          expect.stringMatching(/^\d+s \(x2\)$/),
          'Warning',
          'MergeConflicts',
          'packagevariant/b',
          'MergeConflicts of b',
        ],
      ]);
      const ofA = cells((await pvctl(['events', 'pvar', 'a'], { namespace: ns })).stdout);
      expect(ofA.slice(1).map((r) => r[2])).toEqual(['DraftCreated']);
      expect((await pvctl(['events', 'pvar'], { namespace: ns })).code).toBe(64);

      const described = await pvctl(['describe', 'pvar'], { namespace: ns });
      expect(described.code).toBe(0);
      expect(described.stdout.match(/^Name: +\S+$/gm)).toEqual(['Name:                 a', 'Name:                 b']);
      expect(described.stdout).toMatch(
        /\n {2}Warning +MergeConflicts +\S+ \(x2\) +packagevariant-controller +MergeConflicts of b/,
      );
      expect((await pvctl(['describe', 'pvrepo', 'deploy'], { namespace: ns })).code).toBe(64);
    },
    TIMEOUT_MS,
  );
});
