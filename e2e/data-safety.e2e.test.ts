// Data safety in a cluster: what git records decides, not what status remembers. The manager runs
// in-process against the real API server; git repositories are real.
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { blueprint } from '../controllers/testing/fixtures.ts';
import { mergePatch } from '../lib/kube/client.ts';
import { adminClients, eventually, GROUP, VERSION } from './helpers.ts';
import { condition, useControllerEnv } from './packagevariant-env.ts';

const TIMEOUT_MS = 60_000;

describe('data safety (cluster, real git)', () => {
  const env = useControllerEnv();
  const spec = (extra: object = {}) => ({
    upstream: { repo: 'blueprints', package: 'nginx' },
    downstream: { repo: 'deploy', package: 'east' },
    ...extra,
  });

  it(
    'a conflicted upgrade stays unpublished when its status is wiped and the controller restarts',
    async () => {
      const upstream = await env.repo('blueprints');
      const deploy = await env.repo('deploy');
      await upstream.publish('nginx', blueprint('nginx'), 1);
      await env.createRepository('blueprints', upstream.url);
      await env.createRepository('deploy', deploy.url, true);
      await env.start();
      await env.createVariant('east', spec({ publishPolicy: 'Automatic' }));
      await env.waitFor('east', (pv) => pv.status?.downstreamTargets?.[0]?.lifecycle === 'Published');

      // The site publishes its own image; the blueprint then publishes another one.
      const work = deploy.work;
      await work.git('pull', '-q', '--ff-only', 'origin', 'main');
      const site = (await deploy.show('main', 'east/deployment.yaml')).replace('nginx:1.25', 'nginx:1.25-site');
      work.write('east/deployment.yaml', site);
      await work.commitAll('site image');
      await work.git('tag', 'east/v2');
      await work.git('push', '-q', 'origin', 'main', 'east/v2');
      await upstream.publish('nginx', blueprint('nginx', { image: 'nginx:2.0' }), 2);

      const held = await env.waitFor('east', (pv) => (pv.status?.downstreamTargets?.[0]?.conflicts?.length ?? 0) > 0);
      expect(held.status?.downstreamTargets?.[0]).toMatchObject({ lifecycle: 'Draft' });
      expect(condition(held, 'Ready')?.message).toMatch(/not published automatically/);

      // Status lost, controller restarted with a new cache: git still says the draft is conflicted.
      await env.manager().stop();
      await adminClients().customObjects.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace: env.namespace(),
          plural: 'packagevariants',
          name: 'east',
          body: { status: null },
        },
        mergePatch,
      );
      expect((await env.getVariant('east'))?.status?.downstreamTargets).toBeUndefined();
      await env.start({ cacheDir: join(env.root(), 'cache-2') });
      const again = await env.waitFor('east', (pv) => condition(pv, 'Ready')?.status === 'True');
      expect(again.status?.downstreamTargets?.[0]?.conflicts?.length).toBeGreaterThan(0);
      expect(condition(again, 'Ready')?.message).toMatch(
        /not published automatically: the draft has \d+ merge conflict/,
      );
      // A few more polls; nothing may be published over the site's image.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(await deploy.show('main', 'east/deployment.yaml')).toContain('nginx:1.25-site');
      expect(await deploy.refs('refs/tags/east/')).toEqual(['refs/tags/east/v1', 'refs/tags/east/v2']);
    },
    TIMEOUT_MS,
  );

  it(
    "a person's commit on the variant's draft leaves one draft, reported by the variant",
    async () => {
      const upstream = await env.repo('blueprints');
      const deploy = await env.repo('deploy');
      await upstream.publish('nginx', blueprint('nginx'), 1);
      await env.createRepository('blueprints', upstream.url);
      await env.createRepository('deploy', deploy.url, true);
      await env.start();
      await env.createVariant('east', spec());
      await env.waitFor('east', (pv) => pv.status?.downstreamTargets?.[0]?.lifecycle === 'Draft');

      const work = deploy.work;
      await work.git('fetch', '-q', 'origin');
      await work.git('checkout', '-q', '-B', 'draft', 'origin/drafts/east/packagevariant-1');
      work.write(
        'east/deployment.yaml',
        (await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml')).replace(
          'replicas: 1',
          'replicas: 3',
        ),
      );
      const person = await work.commitAll('more replicas');
      await work.git('push', '-q', 'origin', 'HEAD:refs/heads/drafts/east/packagevariant-1');

      await env.waitFor('east', (pv) => pv.status?.downstreamTargets?.[0]?.commit === person, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await deploy.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/east/packagevariant-1']);
      await eventually(async () =>
        expect(await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml')).toContain('replicas: 3'),
      );
    },
    TIMEOUT_MS,
  );
});
