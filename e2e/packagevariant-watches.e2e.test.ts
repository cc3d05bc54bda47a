// The PackageVariant controller in a cluster: injection from a ConfigMap and from a custom
// resource (and the watch on injection sources Porch lacks), Stalled without a retry storm, and an
// unreachable repository retried with backoff; `pvctl run` as a child process.
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { blueprint } from '../controllers/testing/fixtures.ts';
import { apiErrorCode, mergePatch } from '../lib/kube/client.ts';
import { adminClients, eventually } from './helpers.ts';
import { condition, useControllerEnv } from './packagevariant-env.ts';

const WIDGET_GROUP = 'widgets.e2e.packagevariant.dev';

async function ensureWidgetCrd(): Promise<void> {
  const { apiextensions, customObjects } = adminClients();
  try {
    await apiextensions.createCustomResourceDefinition({
      body: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `widgets.${WIDGET_GROUP}` },
        spec: {
          group: WIDGET_GROUP,
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: { spec: { type: 'object', properties: { size: { type: 'string' } } } },
                },
              },
            },
          ],
        },
      },
    });
  } catch (error) {
    if (apiErrorCode(error) !== 409) throw error;
  }
  await eventually(() =>
    customObjects.listClusterCustomObject({ group: WIDGET_GROUP, version: 'v1', plural: 'widgets', limit: 1 }),
  );
}

const injectable = () => {
  const files = blueprint('app');
  files.set(
    'site.yaml',
    Buffer.from(
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: site-config\n  annotations:\n    kpt.dev/config-injection: required\ndata:\n  region: unset\n` +
        `---\napiVersion: ${WIDGET_GROUP}/v1\nkind: Widget\nmetadata:\n  name: site-widget\n  annotations:\n    kpt.dev/config-injection: required\nspec:\n  size: unset\n`,
    ),
  );
  return files;
};

// Jest's per-project testTimeout is not applied; each spec says how long it may take.
const TIMEOUT_MS = 45_000;

describe('PackageVariant controller watches (cluster, real git)', () => {
  const env = useControllerEnv();

  it(
    'injects from a ConfigMap and a custom resource, and a changed ConfigMap updates the draft',
    async () => {
      await ensureWidgetCrd();
      const { core, customObjects } = adminClients();
      const namespace = env.namespace();
      const upstream = await env.repo('blueprints');
      const deploy = await env.repo('deploy');
      await upstream.publish('app', injectable(), 1);
      await env.createRepository('blueprints', upstream.url);
      await env.createRepository('deploy', deploy.url, true);
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: 'eu', namespace }, data: { region: 'eu-west-1' } },
      });
      await customObjects.createNamespacedCustomObject({
        group: WIDGET_GROUP,
        version: 'v1',
        namespace,
        plural: 'widgets',
        body: { apiVersion: `${WIDGET_GROUP}/v1`, kind: 'Widget', metadata: { name: 'eu' }, spec: { size: 'large' } },
      });
      await env.start();
      await env.createVariant('site', {
        upstream: { repo: 'blueprints', package: 'app' },
        downstream: { repo: 'deploy', package: 'site' },
        injectors: [{ name: 'eu' }],
      });
      await env.waitFor('site', (pv) => condition(pv, 'Ready')?.status === 'True');
      const site = async () =>
        parseAllDocuments(await deploy.show('drafts/site/packagevariant-1', 'site/site.yaml')).map((d) => d.toJSON());
      const [configMap, widget] = await site();
      expect(configMap.data).toEqual({ region: 'eu-west-1' });
      expect(widget.spec).toEqual({ size: 'large' });
      const kptfile = parse(await deploy.show('drafts/site/packagevariant-1', 'site/Kptfile'));
      expect(kptfile.status.conditions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'config.injection.ConfigMap.site-config', status: 'True' }),
          expect.objectContaining({ type: 'config.injection.Widget.site-widget', status: 'True' }),
        ]),
      );

      // The watch Porch lacks: a change to the injected ConfigMap reaches the draft.
      await core.patchNamespacedConfigMap(
        { namespace, name: 'eu', body: { data: { region: 'eu-central-1' } } },
        mergePatch,
      );
      await eventually(async () => expect((await site())[0].data).toEqual({ region: 'eu-central-1' }), 20_000);
      expect(await deploy.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/site/packagevariant-1']);
    },
    TIMEOUT_MS,
  );

  it(
    'an invalid spec is Stalled naming the field, with no retry storm',
    async () => {
      const upstream = await env.repo('blueprints');
      const deploy = await env.repo('deploy');
      await upstream.publish('nginx', blueprint('nginx'), 1);
      await env.createRepository('blueprints', upstream.url);
      await env.createRepository('deploy', deploy.url, true);
      const manager = await env.start();
      await env.createVariant('bad', {
        upstream: { repo: 'blueprints', package: 'nginx' },
        downstream: { repo: 'deploy', package: 'bad' },
        packageContext: { data: { name: 'not-allowed' } },
      });
      const pv = await env.waitFor('bad', (pv) => condition(pv, 'Stalled')?.status === 'True');
      expect(condition(pv, 'Stalled')).toMatchObject({ reason: 'ValidationError' });
      expect(condition(pv, 'Stalled')?.message).toContain('spec.packageContext.data');
      expect(condition(pv, 'Ready')).toMatchObject({ status: 'False' });

      await new Promise((r) => setTimeout(r, 500));
      const key = `${env.namespace()}/bad`;
      const reconciles = manager.reconciles.get(key);
      const writes = manager.store.statusWrites;
      await new Promise((r) => setTimeout(r, 3000));
      expect(manager.reconciles.get(key)).toBe(reconciles);
      expect(manager.store.statusWrites).toBe(writes);
      expect(reconciles).toBeLessThanOrEqual(3);
      expect(await deploy.refs('refs/heads/drafts')).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it(
    'a Repository created after the variant is noticed (Repository watch)',
    async () => {
      const upstream = await env.repo('blueprints');
      const deploy = await env.repo('deploy');
      await upstream.publish('nginx', blueprint('nginx'), 1);
      await env.createRepository('blueprints', upstream.url);
      await env.start();
      await env.createVariant('late', {
        upstream: { repo: 'blueprints', package: 'nginx' },
        downstream: { repo: 'deploy', package: 'late' },
      });
      const stalled = await env.waitFor('late', (pv) => condition(pv, 'Stalled')?.status === 'True');
      expect(condition(stalled, 'Stalled')).toMatchObject({ reason: 'RepositoryNotFound' });
      await env.createRepository('deploy', deploy.url, true);
      await env.waitFor('late', (pv) => condition(pv, 'Ready')?.status === 'True');
      expect(await deploy.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/late/packagevariant-1']);
    },
    TIMEOUT_MS,
  );

  it(
    'an unreachable repository is Ready=False with the cause, retried with backoff',
    async () => {
      const upstream = await env.repo('blueprints');
      await upstream.publish('nginx', blueprint('nginx'), 1);
      await env.createRepository('blueprints', upstream.url);
      await env.createRepository('deploy', `file://${env.root()}/no-such-repo.git`, true);
      const manager = await env.start();
      const key = `${env.namespace()}/lost`;
      // When each attempt starts, and each retry the queue schedules (its delay and when it was asked).
      const starts: number[] = [];
      const retries: { delayMs: number; at: number }[] = [];
      const queue = manager.queue;
      const get = queue.get.bind(queue);
      queue.get = () => {
        const k = get();
        if (k === key) starts.push(performance.now());
        return k;
      };
      const addRateLimited = queue.addRateLimited.bind(queue);
      queue.addRateLimited = (k) => {
        const delayMs = addRateLimited(k);
        if (k === key) retries.push({ delayMs, at: performance.now() });
        return delayMs;
      };
      await env.createVariant('lost', {
        upstream: { repo: 'blueprints', package: 'nginx' },
        downstream: { repo: 'deploy', package: 'lost' },
      });
      const pv = await env.waitFor('lost', (pv) => condition(pv, 'Ready')?.status === 'False');
      expect(condition(pv, 'Ready')).toMatchObject({ reason: 'Error' });
      expect(condition(pv, 'Ready')?.message).toContain('no-such-repo');
      expect(condition(pv, 'Stalled')).toMatchObject({ status: 'False' });

      await new Promise((r) => setTimeout(r, 3000));
      // Per-key exponential backoff (5 ms doubling): a handful of attempts in 3 s, not a hot loop.
      expect(starts.length).toBeGreaterThanOrEqual(4);
      expect(starts.length).toBeLessThanOrEqual(16);
      // Each failure asks for twice the previous delay ...
      const delays = retries.map((r) => r.delayMs);
      expect(delays.slice(0, 4)).toEqual([5, 10, 20, 40]);
      for (let i = 1; i < delays.length; i++) expect(delays[i]).toBe(delays[i - 1]! * 2);
      // ... and no attempt comes before a retry's timer let it: after the first two (the create, and
      // the re-run that the first reconcile's own finalizer write causes), each attempt starts once
      // the timer of one of the two latest retries asked before it has fired. (While an attempt takes
      // longer than the delay, the timer fires during the next attempt and the key runs again as soon
      // as that one ends; client-go's queue does the same.) Measured from the requests, so a slow git
      // failure on a loaded machine does not count as backoff.
      for (const start of starts.slice(2)) {
        const latest = retries.filter((r) => r.at < start).slice(-2);
        expect(latest.some((r) => r.at + r.delayMs <= start + 1)).toBe(true);
      }
      expect(manager.queue.failureCount(key)).toBeGreaterThanOrEqual(starts.length - 1);
      // One Warning event for the repeated failure, its count raised instead of a new event each time.
      const events = await eventually(async () => {
        const list = await adminClients().core.listNamespacedEvent({ namespace: env.namespace() });
        const failed = list.items.filter((e) => e.reason === 'ReconcileFailed' && e.involvedObject.name === 'lost');
        expect(failed).toHaveLength(1);
        expect(failed[0]!.count).toBeGreaterThan(1);
        return failed;
      });
      expect(events[0]).toMatchObject({ type: 'Warning', source: { component: 'packagevariant-controller' } });
    },
    TIMEOUT_MS,
  );
});

describe('pvctl run (child process)', () => {
  const env = useControllerEnv();

  it(
    'serves probes, upgrades on a signed push webhook, and exits cleanly on SIGTERM',
    async () => {
      const upstream = await env.repo('blueprints');
      const deploy = await env.repo('deploy');
      await upstream.publish('nginx', blueprint('nginx'), 1);
      await env.createRepository('blueprints', upstream.url);
      await env.createRepository('deploy', deploy.url, true);
      const secretFile = join(env.root(), 'webhook-secret');
      writeFileSync(secretFile, 'shared-secret\n');
      const child = spawn(
        process.execPath,
        [
          join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'pvctl.ts'),
          'run',
          '--kubeconfig',
          process.env.TESTENV_KUBECONFIG!,
          '--namespace',
          env.namespace(),
          '--poll-interval',
          '1h',
          '--cache-dir',
          join(env.root(), 'cache'),
          '--health-probe-bind-address',
          '127.0.0.1:0',
          '--metrics-bind-address',
          '0',
          '--webhook-bind-address',
          '127.0.0.1:0',
          '--webhook-secret-file',
          secretFile,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const lines: Record<string, unknown>[] = [];
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const parts = buffered.split('\n');
        buffered = parts.pop()!;
        for (const line of parts) lines.push(JSON.parse(line) as Record<string, unknown>);
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        const listening = await eventually(() => {
          const line = lines.find((l) => l.msg === 'listening');
          if (!line) throw new Error(`not listening yet; stderr: ${stderr}`);
          return line as { addresses: { port: number }[] };
        }, 20_000);
        const [probe, webhook] = listening.addresses.map((a) => `http://127.0.0.1:${a.port}`);
        expect((await fetch(`${probe}/healthz`)).status).toBe(200);
        await eventually(async () => expect((await fetch(`${probe}/readyz`)).status).toBe(200));

        await env.createVariant('east', {
          upstream: { repo: 'blueprints', package: 'nginx' },
          downstream: { repo: 'deploy', package: 'east' },
        });
        await env.waitFor('east', (pv) => condition(pv, 'Ready')?.status === 'True');
        const v2 = await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:1.27' }), 2);
        const body = JSON.stringify({ ref: 'refs/tags/nginx/v2', repository: { clone_url: upstream.url } });
        const sign = (secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
        const post = (signature: string) =>
          fetch(`${webhook}/`, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature },
          });
        expect((await post(sign('wrong'))).status).toBe(401);
        expect((await post(sign('shared-secret'))).status).toBe(202);
        const pv = await env.waitFor('east', (pv) => pv.status?.downstreamTargets?.[0]?.upstreamCommit === v2);
        // The pending clone draft is recomputed in place: still one draft.
        expect(pv.status?.downstreamTargets?.[0]?.ref).toBe('drafts/east/packagevariant-1');
        expect(await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml')).toContain(
          'image: nginx:1.27',
        );
        expect(JSON.stringify(lines)).not.toContain('shared-secret');
        expect(lines.some((l) => l.controller === 'packagevariant')).toBe(true);

        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        expect(lines.map((l) => l.msg)).toContain('stopped');
      } finally {
        child.kill('SIGKILL');
      }
    },
    TIMEOUT_MS,
  );
});
