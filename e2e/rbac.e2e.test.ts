import { describe, expect, it } from '@jest/globals';
import { AuthorizationV1Api, type V1ClusterRole } from '@kubernetes/client-node';
import { makeClients } from '../lib/kube/client.ts';
import { apply, render } from './deploy-env.ts';
import { RESTRICTED_USER } from './testenv/testenv.ts';
import { packageVariant } from './fixtures.ts';
import {
  adminClients,
  adminKubeConfig,
  eventually,
  GROUP,
  restrictedKubeConfig,
  statusOf,
  uniqueName,
  useTestNamespace,
  VERSION,
} from './helpers.ts';

describe('restricted user (client certificate, RBAC)', () => {
  const namespace = useTestNamespace();

  it('is authenticated but forbidden (403) without bindings', async () => {
    const restricted = makeClients(restrictedKubeConfig());
    expect(await statusOf(restricted.core.listNamespace())).toBe(403);
    const list = restricted.customObjects.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: namespace(),
      plural: 'packagevariants',
    });
    expect(await statusOf(list)).toBe(403);
    // The admin kubeconfig is not restricted: the 403 comes from RBAC, not from broken credentials.
    expect(await statusOf(adminClients().core.listNamespace())).toBe(200);
  });

  it('gets exactly what a namespaced Role grants, and nothing elsewhere', async () => {
    const admin = adminClients();
    const ns = namespace();
    const other = uniqueName('e2e-other');
    await admin.core.createNamespace({ body: { metadata: { name: other } } });
    try {
      await admin.rbac.createNamespacedRole({
        namespace: ns,
        body: {
          metadata: { name: 'pv-reader' },
          rules: [{ apiGroups: [GROUP], resources: ['packagevariants'], verbs: ['get', 'list', 'watch'] }],
        },
      });
      await admin.rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: 'pv-reader' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pv-reader' },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: RESTRICTED_USER.name }],
        },
      });
      const restricted = makeClients(restrictedKubeConfig());
      const pvs = (namespace: string) => ({ group: GROUP, version: VERSION, namespace, plural: 'packagevariants' });
      // The RBAC authorizer reads bindings from its informer cache, so the grant takes effect shortly after.
      await eventually(async () =>
        expect(await statusOf(restricted.customObjects.listNamespacedCustomObject(pvs(ns)))).toBe(200),
      );
      expect(await statusOf(restricted.customObjects.listNamespacedCustomObject(pvs(other)))).toBe(403);
      const create = restricted.customObjects.createNamespacedCustomObject({
        ...pvs(ns),
        body: packageVariant('nope'),
      });
      expect(await statusOf(create)).toBe(403);
    } finally {
      await admin.core.deleteNamespace({ name: other });
    }
  });
});

describe('the aggregated ClusterRoles of config/rbac (for people)', () => {
  const namespace = useTestNamespace();
  const roles = () =>
    render().filter((o): o is V1ClusterRole => o.kind === 'ClusterRole' && /-(viewer|editor)$/.test(o.metadata!.name!));

  it('carry the labels the built-in view, edit and admin ClusterRoles aggregate', async () => {
    const { rbac } = adminClients();
    const labelsOf = (suffix: string) => roles().find((r) => r.metadata!.name!.endsWith(suffix))!.metadata!.labels!;
    // Does one of a built-in role's aggregation selectors (as the API server bootstrapped it) pick `labels`?
    const aggregates = async (builtin: string, labels: Record<string, string>) =>
      ((await rbac.readClusterRole({ name: builtin })).aggregationRule?.clusterRoleSelectors ?? []).some((s) =>
        Object.entries(s.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
      );
    const actual = Object.fromEntries(
      await Promise.all(
        ['-viewer', '-editor'].flatMap((role) =>
          ['view', 'edit', 'admin'].map(async (builtin) => [
            `${role} ${builtin}`,
            await aggregates(builtin, labelsOf(role)),
          ]),
        ),
      ),
    );
    // The viewer reaches edit and admin through view (the built-in view role carries aggregate-to-edit).
    expect(actual).toEqual({
      '-viewer view': true,
      '-viewer edit': false,
      '-viewer admin': false,
      '-editor view': false,
      '-editor edit': true,
      '-editor admin': true,
    });
    expect((await rbac.readClusterRole({ name: 'view' })).metadata?.labels).toMatchObject({
      'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
    });
  });

  it('let a viewer read the three kinds and an editor change them, but neither write status', async () => {
    const admin = adminClients();
    const ns = namespace();
    await apply(roles());
    const bindTo = async (role: string, user: string) =>
      admin.rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: `${role}-${user}` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
        },
      });
    await bindTo('packagevariant-controller-viewer', 'alice');
    await bindTo('packagevariant-controller-editor', 'bob');
    const authz = adminKubeConfig().makeApiClient(AuthorizationV1Api);
    const elsewhere = uniqueName('e2e-elsewhere');
    const checks: [user: string, verb: string, resource: string, sub: string, where: string, want: boolean][] = [];
    for (const plural of ['packagevariants', 'packagevariantsets', 'repositories']) {
      for (const verb of ['get', 'list', 'watch']) checks.push(['alice', verb, plural, '', ns, true]);
      for (const verb of ['get', 'list', 'watch']) checks.push(['bob', verb, plural, '', ns, true]);
      for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection']) {
        checks.push(['alice', verb, plural, '', ns, false], ['bob', verb, plural, '', ns, true]);
      }
      checks.push(
        ['alice', 'get', plural, 'status', ns, true],
        ['bob', 'patch', plural, 'status', ns, false],
        ['bob', 'update', plural, 'status', ns, false],
        ['alice', 'list', plural, '', elsewhere, false],
        ['bob', 'create', plural, '', elsewhere, false],
      );
    }
    const key = ([user, verb, resource, sub, where]: (typeof checks)[number]) =>
      `${user} ${verb} ${resource}${sub ? `/${sub}` : ''}${where === ns ? '' : ' in another namespace'}`;
    const expected = Object.fromEntries(checks.map((c) => [key(c), c[5]]));
    // Eventually: the authorizer reads new bindings from its informer cache.
    await eventually(async () => {
      const answers = await Promise.all(
        checks.map(async ([user, verb, resource, subresource, where]) => {
          const review = await authz.createSubjectAccessReview({
            body: {
              spec: { user, resourceAttributes: { verb, resource, subresource, group: GROUP, namespace: where } },
            },
          });
          return review.status?.allowed ?? false;
        }),
      );
      expect(Object.fromEntries(checks.map((c, i) => [key(c), answers[i]]))).toEqual(expected);
    });

    // A real call with the restricted user's certificate, once the editor role is bound to it.
    await bindTo('packagevariant-controller-editor', RESTRICTED_USER.name);
    const restricted = makeClients(restrictedKubeConfig());
    const pvs = { group: GROUP, version: VERSION, namespace: ns, plural: 'packagevariants' };
    await eventually(async () =>
      expect(
        await statusOf(restricted.customObjects.createNamespacedCustomObject({ ...pvs, body: packageVariant('mine') })),
      ).toBe(200),
    );
    expect(
      await statusOf(
        restricted.customObjects.patchNamespacedCustomObjectStatus({
          ...pvs,
          name: 'mine',
          body: { status: { observedGeneration: 1 } },
        }),
      ),
    ).toBe(403);
  }, 60_000);
});
