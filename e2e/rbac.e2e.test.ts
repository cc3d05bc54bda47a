import { describe, expect, it } from '@jest/globals';
import { makeClients } from '../lib/kube/client.ts';
import { RESTRICTED_USER } from './testenv/testenv.ts';
import { packageVariant } from './fixtures.ts';
import {
  adminClients,
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
