// The deployment manifests (config/default) against the real API server: every rendered object
// passes a server-side dry run, and the controller running with the ServiceAccount's own token
// reconciles a PackageVariant to Ready with real git — and is refused what the role does not grant.
import { describe, expect, it } from '@jest/globals';
import {
  AppsV1Api,
  AuthorizationV1Api,
  type KubernetesObject,
  type V1Deployment,
  type V1PodDisruptionBudget,
  type V1Service,
} from '@kubernetes/client-node';
import { blueprint } from '../controllers/testing/fixtures.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { makeClients, mergePatch } from '../lib/kube/client.ts';
import { LeaderElector } from '../lib/kube/leader-election.ts';
import { parseDuration } from '../cli/commands/run.ts';
import { packageVariant, packageVariantSet, repository } from './fixtures.ts';
import {
  apply,
  installRbac,
  kubectlPath,
  render,
  ROOT_DIR,
  serviceAccountKubeConfig,
  serviceAccountUser,
  SERVICE_ACCOUNT,
  SYSTEM_NAMESPACE,
} from './deploy-env.ts';
import {
  adminClients,
  adminKubeConfig,
  eventually,
  GROUP,
  statusOf,
  uniqueName,
  useTestNamespace,
  VERSION,
} from './helpers.ts';
import { condition, useControllerEnv } from './packagevariant-env.ts';

const TIMEOUT_MS = 60_000;

describe('config/default', () => {
  it(
    'renders the namespace, CRDs, RBAC, Deployment, Services and disruption budget, and every object passes a server-side dry run',
    async () => {
      const objects = render();
      const names = objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort();
      expect(names).toEqual([
        'ClusterRole/packagevariant-controller',
        'ClusterRole/packagevariant-controller-editor',
        'ClusterRole/packagevariant-controller-viewer',
        'ClusterRoleBinding/packagevariant-controller',
        'CustomResourceDefinition/packagevariants.packagevariant.dev',
        'CustomResourceDefinition/packagevariantsets.packagevariant.dev',
        'CustomResourceDefinition/repositories.packagevariant.dev',
        'Deployment/packagevariant-controller',
        'Namespace/packagevariant-system',
        'PodDisruptionBudget/packagevariant-controller',
        'Role/packagevariant-controller-leader-election',
        'RoleBinding/packagevariant-controller-leader-election',
        'Service/packagevariant-controller-metrics',
        'Service/packagevariant-controller-webhook',
        'ServiceAccount/packagevariant-controller',
      ]);
      const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);
      for (const o of objects) {
        expect([o.kind, o.metadata?.namespace]).toEqual([
          o.kind,
          clusterScoped.has(o.kind!) ? undefined : SYSTEM_NAMESPACE,
        ]);
        expect([o.kind, o.metadata?.labels]).toEqual([
          o.kind,
          expect.objectContaining({
            'app.kubernetes.io/name': 'packagevariant-controller',
            'app.kubernetes.io/part-of': 'packagevariant-controller',
          }),
        ]);
      }

      // The namespace must exist for the namespaced objects' dry run; then everything is dry-run applied.
      await apply(objects.filter((o) => o.kind === 'Namespace'));
      const applied = await apply(objects, 'All');
      expect(applied.map((o) => o.kind)).toEqual(objects.map((o) => o.kind));
      const dryRunDeployment = applied.find((o) => o.kind === 'Deployment') as V1Deployment;
      expect(dryRunDeployment.metadata?.uid).toBeTruthy();
      // A dry run persists nothing.
      expect(
        await statusOf(
          adminKubeConfig()
            .makeApiClient(AppsV1Api)
            .readNamespacedDeployment({ namespace: SYSTEM_NAMESPACE, name: 'packagevariant-controller' }),
        ),
      ).toBe(404);
    },
    TIMEOUT_MS,
  );

  it('runs the controller hardened, with leader election, and a shutdown bound below the grace period', () => {
    const objects = render();
    const deployment = objects.find((o) => o.kind === 'Deployment') as V1Deployment;
    const pod = deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(pod.serviceAccountName).toBe(SERVICE_ACCOUNT);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.image).toBe('packagevariant-controller:dev');
    expect(container.args?.[0]).toBe('run');
    expect(container.args).toContain('--leader-elect');
    expect(Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort]))).toEqual({
      metrics: 8080,
      probes: 8081,
      webhook: 8082,
    });
    expect(container.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'probes' });
    expect(container.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'probes' });
    // The git cache and HOME/tmp are writable volumes on a read-only root filesystem.
    const cacheDir = container.args!.find((a) => a.startsWith('--cache-dir='))!.split('=')[1]!;
    const mounts = (container.volumeMounts ?? []).map((m) => m.mountPath);
    expect(mounts.some((m) => cacheDir.startsWith(`${m}/`))).toBe(true);
    expect(mounts).toContain('/tmp');
    expect(container.env).toContainEqual({ name: 'HOME', value: '/tmp' });
    const shutdownMs = parseDuration(
      container.args!.find((a) => a.startsWith('--graceful-shutdown-timeout='))!.split('=')[1]!,
    );
    // Drain bound + event flush (5 s) + lease release (5 s) fit in the grace period.
    expect(shutdownMs + 10_000).toBeLessThan(pod.terminationGracePeriodSeconds! * 1000);

    const service = (name: string) =>
      objects.find((o) => o.kind === 'Service' && o.metadata?.name === name) as V1Service;
    const metrics = service('packagevariant-controller-metrics');
    expect(metrics.metadata?.labels?.['app.kubernetes.io/name']).toBe('packagevariant-controller');
    expect(metrics.metadata?.labels?.['app.kubernetes.io/component']).toBe('metrics');
    expect(metrics.spec?.ports).toEqual([
      expect.objectContaining({ name: 'metrics', port: 8080, targetPort: 'metrics' }),
    ]);
    expect(metrics.spec?.selector).toEqual(deployment.spec?.selector?.matchLabels);
    // The webhook Service routes to the port pvctl run serves the webhook on.
    const webhook = service('packagevariant-controller-webhook');
    expect(webhook.metadata?.labels?.['app.kubernetes.io/component']).toBe('webhook');
    expect(webhook.spec?.ports).toEqual([
      expect.objectContaining({ name: 'webhook', port: 8082, targetPort: 'webhook' }),
    ]);
    expect(webhook.spec?.selector).toEqual(deployment.spec?.selector?.matchLabels);
    expect(container.args).toContain('--webhook-bind-address=:8082');
    expect(container.env).toContainEqual({
      name: 'PVC_WEBHOOK_SECRET',
      valueFrom: { secretKeyRef: { name: 'packagevariant-webhook', key: 'secret', optional: true } },
    });
    // A node drain evicts one replica at a time: the other keeps (or takes) the lease.
    const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget') as V1PodDisruptionBudget;
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: deployment.spec?.selector?.matchLabels } });
    expect(deployment.spec?.replicas).toBeGreaterThan(1);
  });

  it(
    'runs pods the disruption budget and both Services select (pod labels, real label selectors)',
    async () => {
      const objects = render();
      const deployment = objects.find((o) => o.kind === 'Deployment') as V1Deployment;
      const podLabels = deployment.spec!.template.metadata!.labels!;
      const namespace = uniqueName('e2e-deploy');
      const { core } = adminClients();
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      try {
        // A pod with the Deployment's template labels, and one with only the name: the Services and
        // the budget must select the first and not the second, as the API server evaluates selectors.
        for (const [name, labels] of [
          ['controller', podLabels],
          ['other', { 'app.kubernetes.io/name': 'packagevariant-controller' }],
        ] as const) {
          await core.createNamespacedPod({
            namespace,
            body: { metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'none' }] } },
          });
        }
        const selected = async (selector: Record<string, string>) =>
          (
            await core.listNamespacedPod({
              namespace,
              labelSelector: Object.entries(selector)
                .map(([k, v]) => `${k}=${v}`)
                .join(','),
            })
          ).items.map((p) => p.metadata?.name);
        for (const o of objects.filter((o) => o.kind === 'Service')) {
          expect([o.metadata?.name, await selected((o as V1Service).spec!.selector!)]).toEqual([
            o.metadata?.name,
            ['controller'],
          ]);
        }
        const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget') as V1PodDisruptionBudget;
        expect(await selected(pdb.spec!.selector!.matchLabels!)).toEqual(['controller']);
      } finally {
        await core.deleteNamespace({ name: namespace });
      }
    },
    TIMEOUT_MS,
  );
});

describe('make build-installer (dist/install.yaml)', () => {
  it(
    'writes every object of config/default in one file with the image of IMG, and the API server accepts them all',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pvc-installer-'));
      try {
        const installer = join(dir, 'install.yaml');
        const make = spawnSync(
          'make',
          ['--no-print-directory', 'build-installer', 'IMG=registry.example/pvc:v1.2.3', `INSTALLER=${installer}`],
          {
            cwd: ROOT_DIR,
            encoding: 'utf8',
          },
        );
        expect({ status: make.status, stderr: make.stderr }).toEqual({ status: 0, stderr: make.stderr });
        const objects = (loadAll(readFileSync(installer, 'utf8')) as (KubernetesObject | null)[]).filter(
          (o): o is KubernetesObject => o !== null,
        );
        // The same objects as config/default, but the image.
        const expected = render();
        const deployment = expected.find((o) => o.kind === 'Deployment') as V1Deployment;
        deployment.spec!.template.spec!.containers[0]!.image = 'registry.example/pvc:v1.2.3';
        expect(objects).toEqual(expected);

        await apply(objects.filter((o) => o.kind === 'Namespace'));
        const applied = await apply(objects, 'All');
        expect(applied.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual(
          objects.map((o) => `${o.kind}/${o.metadata?.name}`),
        );
        expect(
          (applied.find((o) => o.kind === 'Deployment') as V1Deployment).spec?.template.spec?.containers[0]?.image,
        ).toBe('registry.example/pvc:v1.2.3');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    TIMEOUT_MS,
  );
});

describe('the ServiceAccount of config/rbac', () => {
  const env = useControllerEnv();

  it(
    'reconciles a PackageVariant to Ready with real git, holding the lease in its namespace',
    async () => {
      await installRbac();
      const kubeConfig = await serviceAccountKubeConfig();
      const upstream = await env.repo('blueprints');
      const deploy = await env.repo('deploy');
      const v1 = await upstream.publish('nginx', blueprint('nginx'), 1);
      await env.createRepository('blueprints', upstream.url);
      await env.createRepository('deploy', deploy.url, true);
      const lease = uniqueName('pv-leader');
      const elector = new LeaderElector({
        coordination: makeClients(kubeConfig).coordination,
        namespace: SYSTEM_NAMESPACE,
        name: lease,
        identity: 'e2e-deploy',
        timing: { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
      });
      await env.start({ kubeConfig, elector });
      await env.createVariant('east', {
        upstream: { repo: 'blueprints', package: 'nginx' },
        downstream: { repo: 'deploy', package: 'east' },
      });
      const pv = await env.waitFor('east', (pv) => condition(pv, 'Ready')?.status === 'True', 30_000);
      expect(pv.status?.downstreamTargets).toEqual([
        expect.objectContaining({ lifecycle: 'Draft', ref: 'drafts/east/packagevariant-1', upstreamCommit: v1 }),
      ]);
      expect(await deploy.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/east/packagevariant-1']);
      // Its events were written with its own credentials.
      await eventually(async () => {
        const events = await adminClients().core.listNamespacedEvent({ namespace: env.namespace() });
        expect(events.items.map((e) => e.reason)).toContain('DraftCreated');
      });
      const held = await adminClients().coordination.readNamespacedLease({ namespace: SYSTEM_NAMESPACE, name: lease });
      expect(held.spec?.holderIdentity).toBe('e2e-deploy');

      // Shutdown releases the lease with the ServiceAccount's credentials too.
      await env.manager().stop();
      const released = await adminClients().coordination.readNamespacedLease({
        namespace: SYSTEM_NAMESPACE,
        name: lease,
      });
      expect(released.spec?.holderIdentity).toBe('');
    },
    TIMEOUT_MS,
  );

  it('is refused what the controller never does', async () => {
    await installRbac();
    const sa = makeClients(await serviceAccountKubeConfig());
    const ns = env.namespace();
    // Real calls with its token: 403, not some other failure.
    expect(await statusOf(sa.core.deleteNamespace({ name: ns }))).toBe(403);
    expect(await statusOf(sa.core.listNode())).toBe(403);
    expect(
      await statusOf(
        sa.core.createNamespacedSecret({
          namespace: ns,
          body: { metadata: { name: 'stolen' }, stringData: { a: 'b' } },
        }),
      ),
    ).toBe(403);
    expect(await statusOf(sa.core.listNamespacedSecret({ namespace: ns }))).toBe(200);
    expect(
      await statusOf(
        sa.coordination.createNamespacedLease({ namespace: ns, body: { metadata: { name: 'elsewhere' }, spec: {} } }),
      ),
    ).toBe(403);
    expect(
      await statusOf(
        sa.customObjects.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: 'repositories',
          body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'Repository',
            metadata: { name: 'r' },
            spec: { type: 'git' },
          },
        }),
      ),
    ).toBe(403);

    // The authorizer's view of the whole rule set, allowed and denied.
    const authz = adminKubeConfig().makeApiClient(AuthorizationV1Api);
    const allowed = async (verb: string, resource: string, namespace: string, group = '', subresource?: string) =>
      (
        await authz.createSubjectAccessReview({
          body: {
            spec: {
              user: serviceAccountUser,
              groups: ['system:serviceaccounts', `system:serviceaccounts:${SYSTEM_NAMESPACE}`, 'system:authenticated'],
              resourceAttributes: { verb, resource, namespace, group, ...(subresource ? { subresource } : {}) },
            },
          },
        })
      ).status?.allowed ?? false;
    const expected: [string, string, string, string, string | undefined, boolean][] = [
      ['update', 'leases', SYSTEM_NAMESPACE, 'coordination.k8s.io', undefined, true],
      ['update', 'leases', ns, 'coordination.k8s.io', undefined, false],
      ['delete', 'leases', SYSTEM_NAMESPACE, 'coordination.k8s.io', undefined, false],
      ['patch', 'packagevariants', ns, GROUP, 'status', true],
      ['update', 'packagevariants', ns, GROUP, 'status', false],
      ['delete', 'packagevariants', ns, GROUP, undefined, true],
      ['delete', 'packagevariantsets', ns, GROUP, undefined, false],
      ['update', 'packagevariantsets', ns, GROUP, 'finalizers', true],
      ['patch', 'repositories', ns, GROUP, undefined, false],
      ['watch', 'secrets', ns, '', undefined, true],
      ['update', 'secrets', ns, '', undefined, false],
      ['delete', 'secrets', ns, '', undefined, false],
      ['watch', 'configmaps', ns, '', undefined, true],
      ['create', 'configmaps', ns, '', undefined, false],
      ['create', 'events', ns, '', undefined, true],
      ['delete', 'events', ns, '', undefined, false],
      ['delete', 'namespaces', '', '', undefined, false],
      ['list', 'nodes', '', '', undefined, false],
      ['create', 'pods', ns, '', undefined, false],
      ['escalate', 'clusterroles', '', 'rbac.authorization.k8s.io', undefined, false],
      ['create', 'customresourcedefinitions', '', 'apiextensions.k8s.io', undefined, false],
    ];
    const actual = await Promise.all(
      expected.map(async ([verb, resource, namespace, group, sub]) => [
        verb,
        resource,
        namespace,
        group,
        sub,
        await allowed(verb, resource, namespace, group, sub),
      ]),
    );
    expect(actual).toEqual(expected);
  });
});

describe('config/crd printer columns', () => {
  const namespace = useTestNamespace();

  /** `kubectl get <plural> -o wide` as the testenv's kubectl prints it, cut at the header's column starts. */
  const kubectlGet = (plural: string) => {
    const result = spawnSync(
      kubectlPath(),
      ['get', plural, '-n', namespace(), '-o', 'wide', '--kubeconfig', process.env.TESTENV_KUBECONFIG!],
      { encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`kubectl get ${plural} failed: ${result.stderr}`);
    const [header, ...rows] = result.stdout.trimEnd().split('\n');
    const columns = [...header!.matchAll(/\S+/g)].map((m) => ({ name: m[0], start: m.index }));
    return rows.map((row) =>
      Object.fromEntries(
        columns.map(({ name, start }, i) => [name, row.slice(start, columns[i + 1]?.start ?? row.length).trim()]),
      ),
    );
  };
  const condition = (status: string, reason: string, message: string) => ({
    type: 'Ready',
    status,
    reason,
    message,
    lastTransitionTime: '2026-01-01T00:00:00Z',
    observedGeneration: 1,
  });
  const setStatus = async (plural: string, name: string, status: object) =>
    adminClients().customObjects.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace: namespace(), plural, name, body: { status } },
      mergePatch,
    );
  const create = async (plural: string, body: object) =>
    adminClients().customObjects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: namespace(),
      plural,
      body,
    });

  it('show the Ready status, its reason and message, and the lifecycle or rollout state', async () => {
    await create('packagevariants', packageVariant('east'));
    await setStatus('packagevariants', 'east', {
      conditions: [condition('False', 'MergeConflicts', 'draft drafts/east-ns/packagevariant-2 has 1 conflict')],
      downstreamTargets: [
        { name: 'deployments.east-ns.packagevariant-2', lifecycle: 'Draft' },
        { name: 'deployments.east-ns.v1', lifecycle: 'Published' },
      ],
      upstream: { latest: { commit: 'abc' }, behind: 1 },
    });
    expect(kubectlGet('packagevariants')).toEqual([
      {
        NAME: 'east',
        READY: 'False',
        STATUS: 'MergeConflicts',
        UPSTREAM: 'basens',
        DOWNSTREAM: 'east-ns',
        LIFECYCLE: 'Draft',
        'UPSTREAM-REPO': 'blueprints',
        'DOWNSTREAM-REPO': 'deployments',
        BEHIND: '1',
        SUSPENDED: '',
        MESSAGE: 'draft drafts/east-ns/packagevariant-2 has 1 conflict',
        AGE: expect.stringMatching(/^\d+s$/) as unknown as string,
      },
    ]);

    await create('packagevariantsets', packageVariantSet('fleet'));
    await setStatus('packagevariantsets', 'fleet', {
      conditions: [condition('True', 'Ready', '3 variants up to date')],
      variants: { total: 4, upToDate: 3, waiting: 1, draftPending: 0, conflicted: 0, failed: 0 },
      rollout: { currentStage: 'canary' },
    });
    expect(kubectlGet('packagevariantsets')).toEqual([
      expect.objectContaining({
        NAME: 'fleet',
        READY: 'True',
        STATUS: 'Ready',
        VARIANTS: '4',
        'UP-TO-DATE': '3',
        STAGE: 'canary',
        MESSAGE: '3 variants up to date',
      }),
    ]);

    await create('repositories', repository('deployments'));
    await setStatus('repositories', 'deployments', {
      conditions: [condition('False', 'Error', 'cannot reach https://git.example.com/deployments.git')],
    });
    expect(kubectlGet('repositories')).toEqual([
      expect.objectContaining({
        NAME: 'deployments',
        READY: 'False',
        STATUS: 'Error',
        DEPLOYMENT: 'true',
        ADDRESS: 'https://git.example.com/deployments.git',
        MESSAGE: 'cannot reach https://git.example.com/deployments.git',
      }),
    ]);
  });
});
