// The deployment manifests (config/default) against the real API server: every rendered object
// passes a server-side dry run, and the controller running with the ServiceAccount's own token
// reconciles a PackageVariant to Ready with real git — and is refused what the role does not grant.
import { describe, expect, it } from '@jest/globals';
import { AppsV1Api, AuthorizationV1Api, type V1Deployment, type V1Service } from '@kubernetes/client-node';
import { blueprint } from '../controllers/testing/fixtures.ts';
import { makeClients } from '../lib/kube/client.ts';
import { LeaderElector } from '../lib/kube/leader-election.ts';
import { parseDuration } from '../cli/commands/run.ts';
import {
  apply,
  installRbac,
  render,
  serviceAccountKubeConfig,
  serviceAccountUser,
  SERVICE_ACCOUNT,
  SYSTEM_NAMESPACE,
} from './deploy-env.ts';
import { adminClients, adminKubeConfig, eventually, GROUP, statusOf, uniqueName, VERSION } from './helpers.ts';
import { condition, useControllerEnv } from './packagevariant-env.ts';

const TIMEOUT_MS = 60_000;

describe('config/default', () => {
  it(
    'renders the namespace, CRDs, RBAC, Deployment and metrics Service, and every object passes a server-side dry run',
    async () => {
      const objects = render();
      const names = objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort();
      expect(names).toEqual([
        'ClusterRole/packagevariant-controller',
        'ClusterRoleBinding/packagevariant-controller',
        'CustomResourceDefinition/packagevariants.packagevariant.dev',
        'CustomResourceDefinition/packagevariantsets.packagevariant.dev',
        'CustomResourceDefinition/repositories.packagevariant.dev',
        'Deployment/packagevariant-controller',
        'Namespace/packagevariant-system',
        'Role/packagevariant-leader-election',
        'RoleBinding/packagevariant-leader-election',
        'Service/packagevariant-controller-metrics',
        'ServiceAccount/packagevariant-controller',
      ]);
      const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);
      for (const o of objects) {
        expect([o.kind, o.metadata?.namespace]).toEqual([
          o.kind,
          clusterScoped.has(o.kind!) ? undefined : SYSTEM_NAMESPACE,
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

    const service = objects.find((o) => o.kind === 'Service') as V1Service;
    expect(service.metadata?.labels?.['app.kubernetes.io/name']).toBe('packagevariant-controller');
    expect(service.spec?.ports).toEqual([
      expect.objectContaining({ name: 'metrics', port: 8080, targetPort: 'metrics' }),
    ]);
    expect(service.spec?.selector).toEqual(deployment.spec?.selector?.matchLabels);
  });
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
