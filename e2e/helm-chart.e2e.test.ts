// The Helm chart (charts/packagevariant-controller) with the real helm (scripts/helm.sh builds it from
// its Go module) and the real API server: `helm lint`, `helm template` with several value sets, every
// rendered object accepted by a server-side dry run, the container's arguments accepted by pvctl
// run's own parser, and no drift from config/default — with its default values the chart renders
// the same objects as the kustomize deployment, object by object.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import {
  AppsV1Api,
  AuthorizationV1Api,
  type KubernetesObject,
  type V1ClusterRole,
  type V1Deployment,
  type V1PodDisruptionBudget,
  type V1Role,
  type V1RoleBinding,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import { Command } from 'commander';
import { leaderElectionFrom, managerOptionsFrom, registerRun, type RunOptions } from '../cli/commands/run.ts';
import { logFormatFrom } from '../cli/logging.ts';
import { renderOptionsFrom } from '../cli/render-options.ts';
import { runLimitsFrom } from '../cli/run-limits.ts';
import { apply, CHART_DIR, helm, helmPath, helmTemplate, render, ROOT_DIR, SYSTEM_NAMESPACE } from './deploy-env.ts';
import { adminClients, adminKubeConfig, statusOf, uniqueName } from './helpers.ts';

// A cold build of helm (scripts/helm.sh) takes a few minutes on two cores; `make test` builds it first.
const BUILD_TIMEOUT_MS = 15 * 60_000;
const TIMEOUT_MS = 60_000;

type Values = Record<string, unknown>;

/** The value sets the tests render, lint and dry-run apply. */
const VALUE_SETS: Record<string, Values> = {
  defaults: {},
  ha: {
    replicaCount: 3,
    leaderElection: { id: 'pvc-ha', leaseDuration: '30s', renewDeadline: '20s', retryPeriod: '4s' },
    podDisruptionBudget: { minAvailable: 2 },
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'packagevariant-controller' } },
      },
    ],
  },
  single: { replicaCount: 1, leaderElection: { enabled: false }, podDisruptionBudget: { enabled: false } },
  'metrics off': { metrics: { enabled: false } },
  'webhook off': { webhook: { enabled: false } },
  'webhook on': {
    webhook: {
      secret: 's3cret',
      secretName: 'git-push',
      maxBodyBytes: 2097152,
      maxConnections: 64,
      requestTimeout: '20s',
      service: { type: 'NodePort', port: 80 },
    },
  },
  'injection rbac': {
    rbac: {
      injectionResources: [
        { apiGroups: ['example.com'], resources: ['teams'] },
        { apiGroups: ['apps'], resources: ['deployments'] },
      ],
    },
  },
  tuned: {
    image: { repository: 'registry.example/pvc', tag: 'v9', pullPolicy: 'Always' },
    imagePullSecrets: [{ name: 'regcred' }],
    logLevel: 'debug',
    logFormat: 'console',
    pollInterval: '30s',
    concurrency: 16,
    setConcurrency: 4,
    threads: 1,
    maxPushRefs: 500,
    celLimits: { costLimit: 100000, timeLimit: '50ms' },
    gracefulShutdownTimeout: '60s',
    terminationGracePeriodSeconds: 75,
    render: { allowExec: ['kustomize', '/usr/local/bin/fn'], containerRuntime: 'podman', fnTimeout: '2m' },
    resources: { requests: { cpu: '200m', memory: '512Mi' }, limits: { memory: '2Gi' } },
    cache: { sizeLimit: '20Gi' },
    extraArgs: ['--leader-election-namespace=packagevariant-system'],
    extraEnv: [{ name: 'GIT_TRACE', value: '0' }],
    podAnnotations: { 'example.com/scrape': 'true' },
    podLabels: { team: 'platform' },
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'platform', effect: 'NoSchedule' }],
    priorityClassName: 'system-cluster-critical',
    serviceAccount: { annotations: { 'example.com/role': 'pvc' } },
    crds: { keep: false },
  },
  'no crds, no aggregated roles': { crds: { install: false }, rbac: { aggregateToViewEdit: false } },
  'watch one namespace': { watchNamespace: 'tenant-a' },
};

const keyOf = (o: KubernetesObject) => `${o.kind}/${o.metadata?.name}`;
const find = <T extends KubernetesObject>(objects: KubernetesObject[], kind: string, name?: string): T => {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (!found) throw new Error(`no ${kind}${name ? `/${name}` : ''} in ${objects.map(keyOf).join(', ')}`);
  return found as T;
};
const container = (objects: KubernetesObject[]) =>
  find<V1Deployment>(objects, 'Deployment').spec!.template.spec!.containers[0]!;

/** pvctl run's own option parser and checks over a container's arguments (what the pod would start with). */
async function parseRunArgs(args: string[]): Promise<RunOptions> {
  const program = new Command().exitOverride();
  registerRun(program);
  let parsed: RunOptions | undefined;
  program.commands
    .find((c) => c.name() === 'run')!
    .action((options: RunOptions) => {
      parsed = options;
    });
  await program.parseAsync(args, { from: 'user' });
  const options = parsed!;
  // What runController checks before it connects: bind addresses, numbers, durations, runtimes.
  managerOptionsFrom(options);
  renderOptionsFrom(options);
  runLimitsFrom(options);
  logFormatFrom(options.logFormat);
  leaderElectionFrom({ ...options, leaderElectionNamespace: options.leaderElectionNamespace ?? SYSTEM_NAMESPACE });
  return options;
}

// Labels and annotations only Helm adds; everything else must be what config/default has.
const HELM_ONLY = new Set([
  'helm.sh/chart',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/managed-by',
  'app.kubernetes.io/version',
  'helm.sh/resource-policy',
]);
function withoutHelmKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutHelmKeys);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value)
    .filter(([k]) => !HELM_ONLY.has(k))
    .map(([k, v]) => [k, withoutHelmKeys(v)] as const)
    .filter(([k, v]) => !(k === 'annotations' && typeof v === 'object' && v && Object.keys(v).length === 0));
  return Object.fromEntries(entries);
}

describe('charts/packagevariant-controller', () => {
  beforeAll(() => {
    helmPath();
  }, BUILD_TIMEOUT_MS);

  it('is versioned with the project', () => {
    const chart = readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8');
    const { version } = JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { version: string };
    expect(chart).toMatch(new RegExp(`^version: ${version.replaceAll('.', '\\.')}$`, 'm'));
    expect(chart).toMatch(new RegExp(`^appVersion: ${version.replaceAll('.', '\\.')}$`, 'm'));
    expect(helm(['version', '--short']).stdout).toMatch(/^v3\.\d+\.\d+/);
  });

  it.each(Object.entries(VALUE_SETS))('passes helm lint --strict with the %s values', (_name, values) => {
    const result = helm(['lint', '--strict', CHART_DIR], values);
    const out = result.stdout + result.stderr;
    expect({ status: result.status, out }).toEqual({ status: 0, out });
    expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('refuses values that would break the controller: typos, wrong types, several replicas without leader election', () => {
    const template = (values: Values) => helm(['template', 'packagevariant-controller', CHART_DIR], values);
    const twoLeaders = template({ replicaCount: 2, leaderElection: { enabled: false } });
    expect(twoLeaders.status).not.toBe(0);
    expect(twoLeaders.stderr).toContain('replicaCount > 1 needs leaderElection.enabled');
    const typo = template({ webhok: { enabled: false } });
    expect(typo.status).not.toBe(0);
    expect(typo.stderr).toMatch(/additional properties 'webhok' not allowed/);
    const wrongType = template({ replicaCount: 'two' });
    expect(wrongType.status).not.toBe(0);
    expect(wrongType.stderr).toMatch(/replicaCount/);
    const badLevel = template({ logLevel: 'verbose' });
    expect(badLevel.status).not.toBe(0);
    expect(badLevel.stderr).toMatch(/logLevel/);
  });

  it('renders exactly the objects of config/default with its default values (no drift)', () => {
    const kustomized = render().filter((o) => o.kind !== 'Namespace');
    const charted = helmTemplate({ image: { tag: 'dev' } });
    const byKey = (objects: KubernetesObject[]) =>
      Object.fromEntries(objects.map((o) => [keyOf(o), withoutHelmKeys(o)]));
    expect(Object.keys(byKey(charted)).sort()).toEqual(Object.keys(byKey(kustomized)).sort());
    // Whole objects: kinds, names, labels, RBAC rules, container args, ports, probes, security
    // contexts, volumes, CRD schemas and printer columns.
    expect(byKey(charted)).toEqual(byKey(kustomized));
    // Only Helm's own labels were left out of the comparison.
    const deployment = find<V1Deployment>(charted, 'Deployment');
    expect(deployment.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'Helm',
      'app.kubernetes.io/instance': 'packagevariant-controller',
    });
    expect(deployment.spec?.selector.matchLabels?.['app.kubernetes.io/instance']).toBe('packagevariant-controller');
    expect(find(charted, 'CustomResourceDefinition').metadata?.annotations).toEqual({
      'helm.sh/resource-policy': 'keep',
    });
  });

  it.each(Object.entries(VALUE_SETS))(
    'renders the %s values into objects the API server accepts (server-side dry run) and arguments pvctl run accepts',
    async (_name, values) => {
      const namespace = uniqueName('e2e-helm');
      // A watched namespace must exist for the Role in it.
      const watched = values.watchNamespace ? `${namespace}-watched` : undefined;
      const objects = helmTemplate(watched ? { ...values, watchNamespace: watched } : values, { namespace });
      const namespaces = [namespace, ...(watched ? [watched] : [])];
      for (const ns of namespaces) await adminClients().core.createNamespace({ body: { metadata: { name: ns } } });
      try {
        const applied = await apply(objects, 'All');
        expect(applied.map(keyOf)).toEqual(objects.map(keyOf));
        for (const o of applied) expect(o.metadata?.uid).toBeTruthy();
        // Namespaced objects land in the release namespace (or the watched one).
        const used = new Set(applied.map((o) => o.metadata?.namespace).filter(Boolean));
        expect([...used].sort()).toEqual(namespaces.sort());
        await parseRunArgs(container(objects).args!);
      } finally {
        for (const ns of namespaces) await adminClients().core.deleteNamespace({ name: ns });
      }
    },
    TIMEOUT_MS,
  );

  it('HA: replicas, leader election timing and the disruption budget follow the values', async () => {
    const objects = helmTemplate(VALUE_SETS.ha);
    expect(find<V1Deployment>(objects, 'Deployment').spec?.replicas).toBe(3);
    const options = await parseRunArgs(container(objects).args!);
    expect(leaderElectionFrom({ ...options, leaderElectionNamespace: 'ns' })).toEqual({
      namespace: 'ns',
      name: 'pvc-ha',
      timing: { leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 4_000 },
    });
    const pdb = find<V1PodDisruptionBudget>(objects, 'PodDisruptionBudget');
    expect(pdb.spec).toEqual({
      minAvailable: 2,
      selector: { matchLabels: find<V1Deployment>(objects, 'Deployment').spec?.selector.matchLabels },
    });
    expect(find<V1Deployment>(objects, 'Deployment').spec?.template.spec?.topologySpreadConstraints).toHaveLength(1);
  });

  it('a single replica without leader election has neither the flag nor the Lease role', async () => {
    const objects = helmTemplate(VALUE_SETS.single);
    expect(find<V1Deployment>(objects, 'Deployment').spec?.replicas).toBe(1);
    expect(container(objects).args).not.toContain('--leader-elect');
    expect((await parseRunArgs(container(objects).args!)).leaderElect).toBe(false);
    expect(objects.map(keyOf)).not.toContain('Role/packagevariant-controller-leader-election');
    expect(objects.map((o) => o.kind)).not.toContain('PodDisruptionBudget');
  });

  it('metrics off: no metrics server, port or Service', async () => {
    const objects = helmTemplate(VALUE_SETS['metrics off']);
    const options = await parseRunArgs(container(objects).args!);
    expect(managerOptionsFrom(options)).not.toHaveProperty('metricsAddress');
    expect(managerOptionsFrom(options)).toHaveProperty('probeAddress', { port: 8081 });
    expect(container(objects).ports?.map((p) => p.name)).toEqual(['probes', 'webhook']);
    expect(objects.map(keyOf)).not.toContain('Service/packagevariant-controller-metrics');
    expect(objects.map(keyOf)).toContain('Service/packagevariant-controller-webhook');
  });

  it('webhook off: no webhook server, secret reference, port or Service', async () => {
    const objects = helmTemplate(VALUE_SETS['webhook off']);
    process.env.PVC_WEBHOOK_SECRET = 'would-enable-it';
    try {
      expect(managerOptionsFrom(await parseRunArgs(container(objects).args!))).not.toHaveProperty('webhookAddress');
    } finally {
      delete process.env.PVC_WEBHOOK_SECRET;
    }
    expect(container(objects).env?.map((e) => e.name)).toEqual(['HOME', 'TMPDIR']);
    expect(container(objects).ports?.map((p) => p.name)).toEqual(['metrics', 'probes']);
    expect(objects.map((o) => o.kind).filter((k) => k === 'Service')).toHaveLength(1);
  });

  it('webhook on: the Secret it creates is the one the pod reads, and the Service routes to the webhook port', async () => {
    const objects = helmTemplate(VALUE_SETS['webhook on']);
    const secret = find<V1Secret>(objects, 'Secret', 'git-push');
    expect(Buffer.from(secret.data!.secret!, 'base64').toString()).toBe('s3cret');
    const env = container(objects).env?.find((e) => e.name === 'PVC_WEBHOOK_SECRET');
    expect(env?.valueFrom?.secretKeyRef).toEqual({ name: 'git-push', key: 'secret', optional: true });
    process.env.PVC_WEBHOOK_SECRET = 's3cret';
    try {
      const manager = managerOptionsFrom(await parseRunArgs(container(objects).args!));
      expect(manager).toMatchObject({
        webhookAddress: { port: 8082 },
        webhookSecret: 's3cret',
        webhookLimits: { maxBodyBytes: 2097152, maxConnections: 64, requestTimeoutMs: 20_000 },
      });
    } finally {
      delete process.env.PVC_WEBHOOK_SECRET;
    }
    const service = find<V1Service>(objects, 'Service', 'packagevariant-controller-webhook');
    expect(service.spec).toMatchObject({
      type: 'NodePort',
      ports: [{ name: 'webhook', port: 80, targetPort: 'webhook' }],
    });
    expect(container(objects).ports).toContainEqual({ name: 'webhook', containerPort: 8082 });
  });

  it('tuned: every controller flag of the values reaches pvctl run', async () => {
    const objects = helmTemplate(VALUE_SETS.tuned);
    const c = container(objects);
    expect(c.image).toBe('registry.example/pvc:v9');
    expect(c.imagePullPolicy).toBe('Always');
    const options = await parseRunArgs(c.args!);
    expect(options).toMatchObject({
      logLevel: 'debug',
      logFormat: 'console',
      pollInterval: '30s',
      maxPushRefs: '500',
      leaderElectionNamespace: SYSTEM_NAMESPACE,
      gracefulShutdownTimeout: '60s',
    });
    expect(managerOptionsFrom(options)).toMatchObject({
      concurrency: 16,
      setConcurrency: 4,
      threads: 1,
      pollIntervalMs: 30_000,
      shutdownTimeoutMs: 60_000,
      celLimits: { costLimit: 100000, timeLimitMs: 50 },
    });
    expect(renderOptionsFrom(options)).toEqual({
      allowExec: ['kustomize', '/usr/local/bin/fn'],
      containerRuntime: 'podman',
      timeoutMs: 120_000,
    });
    const pod = find<V1Deployment>(objects, 'Deployment').spec!.template;
    expect(pod.spec?.terminationGracePeriodSeconds).toBe(75);
    expect(pod.metadata?.labels?.team).toBe('platform');
    expect(pod.metadata?.annotations).toEqual({ 'example.com/scrape': 'true' });
    expect(pod.spec?.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod.spec?.volumes?.find((v) => v.name === 'git-cache')?.emptyDir?.sizeLimit).toBe('20Gi');
    expect(c.env).toContainEqual({ name: 'GIT_TRACE', value: '0' });
    expect(find(objects, 'CustomResourceDefinition').metadata?.annotations).toBeUndefined();
  });

  it('without CRDs and aggregated roles renders neither', () => {
    const kinds = helmTemplate(VALUE_SETS['no crds, no aggregated roles']).map(keyOf);
    expect(kinds.filter((k) => k.startsWith('CustomResourceDefinition/'))).toEqual([]);
    expect(kinds.filter((k) => k.startsWith('ClusterRole/'))).toEqual(['ClusterRole/packagevariant-controller']);
  });

  it(
    'grants read access to the extra injection kinds, and nothing more, once applied',
    async () => {
      const release = uniqueName('pvc-inject');
      const namespace = uniqueName('e2e-helm');
      const objects = helmTemplate(VALUE_SETS['injection rbac'], { release, namespace });
      const injection = find<V1ClusterRole>(objects, 'ClusterRole', `${release}-packagevariant-controller-injection`);
      expect(injection.rules).toEqual([
        { apiGroups: ['example.com'], resources: ['teams'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
      ]);
      await adminClients().core.createNamespace({ body: { metadata: { name: namespace } } });
      const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
      try {
        await apply(objects.filter((o) => rbacKinds.has(o.kind!)));
        const can = await subjectAccess(`system:serviceaccount:${namespace}:${release}-packagevariant-controller`);
        await expect(can('list', 'teams', 'example.com', 'anywhere')).resolves.toBe(true);
        await expect(can('watch', 'deployments', 'apps', 'anywhere')).resolves.toBe(true);
        await expect(can('update', 'teams', 'example.com', 'anywhere')).resolves.toBe(false);
        await expect(can('delete', 'deployments', 'apps', 'anywhere')).resolves.toBe(false);
        await expect(can('list', 'configmaps', '', 'anywhere')).resolves.toBe(true);
      } finally {
        await deleteClusterObjects(objects);
        await adminClients().core.deleteNamespace({ name: namespace });
      }
    },
    TIMEOUT_MS,
  );

  it(
    'watching one namespace: a Role there instead of a ClusterRole, and access nowhere else',
    async () => {
      const release = uniqueName('pvc-ns');
      const namespace = uniqueName('e2e-helm');
      const watched = uniqueName('e2e-tenant');
      const objects = helmTemplate(
        { ...VALUE_SETS['watch one namespace'], watchNamespace: watched },
        { release, namespace },
      );
      expect((await parseRunArgs(container(objects).args!)).namespace).toBe(watched);
      const fullname = `${release}-packagevariant-controller`;
      expect(objects.map(keyOf)).not.toContain(`ClusterRole/${fullname}`);
      expect(find<V1Role>(objects, 'Role', fullname).metadata?.namespace).toBe(watched);
      expect(find<V1RoleBinding>(objects, 'RoleBinding', fullname).subjects).toEqual([
        { kind: 'ServiceAccount', name: fullname, namespace },
      ]);
      for (const ns of [namespace, watched])
        await adminClients().core.createNamespace({ body: { metadata: { name: ns } } });
      const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
      try {
        await apply(objects.filter((o) => rbacKinds.has(o.kind!)));
        const can = await subjectAccess(`system:serviceaccount:${namespace}:${fullname}`);
        await expect(can('watch', 'packagevariants', 'packagevariant.dev', watched)).resolves.toBe(true);
        await expect(can('patch', 'packagevariants', 'packagevariant.dev', watched, 'status')).resolves.toBe(true);
        await expect(can('watch', 'secrets', '', watched)).resolves.toBe(true);
        await expect(can('watch', 'packagevariants', 'packagevariant.dev', namespace)).resolves.toBe(false);
        await expect(can('watch', 'secrets', '', 'kube-system')).resolves.toBe(false);
        // The Lease stays in the release namespace.
        await expect(can('update', 'leases', 'coordination.k8s.io', namespace)).resolves.toBe(true);
        await expect(can('update', 'leases', 'coordination.k8s.io', watched)).resolves.toBe(false);
      } finally {
        await deleteClusterObjects(objects);
        for (const ns of [namespace, watched]) await adminClients().core.deleteNamespace({ name: ns });
      }
    },
    TIMEOUT_MS,
  );

  it(
    'installs, upgrades and uninstalls as a real Helm release against the API server',
    async () => {
      const release = uniqueName('pvc');
      const namespace = uniqueName('e2e-helm');
      const kubeconfig = ['--kubeconfig', process.env.TESTENV_KUBECONFIG!];
      const fullname = `${release}-packagevariant-controller`;
      const { apps, rbac } = { apps: adminKubeConfig().makeApiClient(AppsV1Api), rbac: adminClients().rbac };
      // The CRDs belong to the test environment (installed by global-setup.ts, not by Helm).
      const values = { crds: { install: false }, webhook: { secret: 'abc' } };
      const install = helm(
        ['install', release, CHART_DIR, '-n', namespace, '--create-namespace', ...kubeconfig],
        values,
      );
      try {
        expect({ status: install.status, stderr: install.stderr }).toEqual({ status: 0, stderr: '' });
        expect(install.stdout).toContain('STATUS: deployed');
        expect(install.stdout).toContain(`Service ${fullname}-webhook`);
        const deployment = await apps.readNamespacedDeployment({ namespace, name: fullname });
        expect(deployment.spec?.replicas).toBe(2);
        expect(deployment.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
        expect((await rbac.readClusterRole({ name: `${fullname}-viewer` })).metadata?.name).toBe(`${fullname}-viewer`);

        const upgrade = helm(
          ['upgrade', release, CHART_DIR, '-n', namespace, '--reuse-values', '--set', 'replicaCount=3', ...kubeconfig],
          undefined,
        );
        expect({ status: upgrade.status, stderr: upgrade.stderr }).toEqual({ status: 0, stderr: '' });
        expect((await apps.readNamespacedDeployment({ namespace, name: fullname })).spec?.replicas).toBe(3);
        const refused = helm(
          [
            'upgrade',
            release,
            CHART_DIR,
            '-n',
            namespace,
            '--reuse-values',
            '--set',
            'leaderElection.enabled=false',
            ...kubeconfig,
          ],
          undefined,
        );
        expect(refused.status).not.toBe(0);
        expect(refused.stderr).toContain('needs leaderElection.enabled');
      } finally {
        // (After a failed install there is nothing to uninstall; the install's own failure is reported.)
        const uninstall = helm(['uninstall', release, '-n', namespace, '--wait', ...kubeconfig]);
        if (install.status === 0) {
          expect({ status: uninstall.status, stderr: uninstall.stderr }).toEqual({ status: 0, stderr: '' });
        }
        await adminClients().core.deleteNamespace({ name: namespace });
      }
      expect(await statusOf(apps.readNamespacedDeployment({ namespace, name: fullname }))).toBe(404);
      expect(await statusOf(rbac.readClusterRole({ name: `${fullname}-viewer` }))).toBe(404);
      expect(await statusOf(rbac.readClusterRoleBinding({ name: fullname }))).toBe(404);
    },
    TIMEOUT_MS,
  );

  it('a second release with another name gets its own cluster-scoped names', () => {
    const first = helmTemplate({}).filter((o) => !o.metadata?.namespace && o.kind !== 'CustomResourceDefinition');
    const second = helmTemplate({}, { release: 'staging', namespace: 'pvc-staging' }).filter(
      (o) => !o.metadata?.namespace && o.kind !== 'CustomResourceDefinition',
    );
    expect(second.map(keyOf)).toEqual(
      first.map((o) => keyOf(o).replace('/packagevariant-controller', '/staging-packagevariant-controller')),
    );
  });
});

/** The authorizer's answer for a ServiceAccount (SubjectAccessReview). */
async function subjectAccess(user: string) {
  const authz = adminKubeConfig().makeApiClient(AuthorizationV1Api);
  const namespace = user.split(':')[2]!;
  return async (verb: string, resource: string, group: string, ns: string, subresource?: string) =>
    (
      await authz.createSubjectAccessReview({
        body: {
          spec: {
            user,
            groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
            resourceAttributes: { verb, resource, group, namespace: ns, ...(subresource ? { subresource } : {}) },
          },
        },
      })
    ).status?.allowed ?? false;
}

/** Removes the cluster-scoped RBAC objects a test applied for real (namespaced ones go with their namespace). */
async function deleteClusterObjects(objects: KubernetesObject[]): Promise<void> {
  const { rbac } = adminClients();
  for (const o of objects) {
    if (o.kind === 'ClusterRole') await rbac.deleteClusterRole({ name: o.metadata!.name! });
    if (o.kind === 'ClusterRoleBinding') await rbac.deleteClusterRoleBinding({ name: o.metadata!.name! });
  }
}
