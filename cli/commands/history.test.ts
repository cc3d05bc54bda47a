// `pvctl history` and `pvctl carried` on real git: a variant's clone, approved, then a person's edit.
import { afterAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { Command } from 'commander';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { reconcileLocally } from '../../controllers/local.ts';
import { blueprint, packageVariant, repository, TestRepo } from '../../controllers/testing/fixtures.ts';
import { registerCarried, registerHistory } from './history.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** Two sites cloned from blueprints/nginx v1 and published; `edit` scales some of them as a person would. */
async function fleet(edits: Record<string, number>) {
  const root = tempDir('pvctl-history-');
  dirs.push(root);
  const blueprints = await TestRepo.create(root, 'blueprints');
  const v1 = await blueprints.publish('nginx', blueprint('nginx'), 1);
  const deploy = await TestRepo.create(root, 'deploy');
  const sites = ['berlin', 'paris', 'rome'];
  await reconcileLocally(
    [
      repository('blueprints', blueprints.url),
      repository('deploy', deploy.url, true),
      ...sites.map((s) =>
        packageVariant(s, {
          upstream: { repo: 'blueprints', package: 'nginx' },
          downstream: { repo: 'deploy', package: s },
        }),
      ),
    ],
    { cacheDir: join(root, 'cache') },
  );
  const store = deploy.store(join(root, 'approver'));
  await store.refresh();
  const batch = store.batch();
  for (const s of sites) batch.approve({ packageName: s, workspace: 'packagevariant-1' });
  await batch.push();
  for (const [site, replicas] of Object.entries(edits)) {
    const published = await store.readPackage({ packageName: site });
    const edited = new Map(published);
    edited.set(
      'deployment.yaml',
      Buffer.from(published.get('deployment.yaml')!.toString().replace('replicas: 1', `replicas: ${replicas}`)),
    );
    await deploy.publish(site, edited, 2);
  }
  store.close();
  const pvctl = async (...args: string[]) => {
    const lines: string[] = [];
    const program = new Command('pvctl').exitOverride();
    const io = { out: (l: string) => lines.push(l), env: { XDG_CACHE_HOME: join(root, 'xdg') } };
    registerHistory(program, io);
    registerCarried(program, io);
    await program.parseAsync(['node', 'pvctl', ...args, '--repo', deploy.url]);
    return lines.join('\n');
  };
  return { v1, pvctl };
}

describe('pvctl history', () => {
  it('lists the revisions with the upstream each came from, who published it and the variant', async () => {
    const { v1, pvctl } = await fleet({ berlin: 5 });
    const out = (await pvctl('history', 'berlin')).split('\n');
    expect(out[0]).toMatch(/^REVISION\s+LIFECYCLE\s+TIME\s+BY\s+UPSTREAM\s+VARIANT$/);
    expect(out[1]).toMatch(
      new RegExp(`^v1\\s+Published\\s+\\S+Z\\s+.+\\s+nginx/v1@${v1.slice(0, 12)}\\s+default/berlin$`),
    );
    // the person's edit: published by them, still on upstream v1, no variant's
    expect(out[2]).toMatch(new RegExp(`^v2\\s+Published\\s+\\S+Z\\s+.*Test.*nginx/v1@${v1.slice(0, 12)}\\s+-$`));
    const json = JSON.parse(await pvctl('history', 'berlin', '-o', 'json'));
    expect(json.items[0]).toMatchObject({
      revision: 1,
      owner: 'default/berlin',
      upstream: { commit: v1, directory: 'nginx' },
    });
  });
});

describe('pvctl carried', () => {
  it("lists a downstream's own fields, and a diff", async () => {
    const { pvctl } = await fleet({ berlin: 5 });
    const fields = await pvctl('carried', 'berlin');
    expect(fields).toMatch(
      /^FILE\s+RESOURCE\s+FIELD\s+UPSTREAM\s+DOWNSTREAM\ndeployment\.yaml\s+Deployment\.apps nginx\s+spec\.replicas\s+1\s+5$/,
    );
    expect(await pvctl('carried', 'paris')).toBe('paris carries nothing of its own');
    const diff = await pvctl('carried', 'berlin', '--diff');
    expect(diff).toContain('--- a/upstream/deployment.yaml\n+++ b/downstream/deployment.yaml');
    expect(diff).toContain('-  replicas: 1 # scale per site\n+  replicas: 5 # scale per site');
  });

  it('lists what several downstreams carry alike', async () => {
    const { pvctl } = await fleet({ berlin: 5, paris: 5, rome: 3 });
    expect(await pvctl('carried', '--all')).toMatch(
      /^PACKAGES\s+FILE\s+RESOURCE\s+FIELD\s+UPSTREAM\s+DOWNSTREAM\n2: berlin,paris\s+deployment\.yaml\s+Deployment\.apps nginx\s+spec\.replicas\s+1\s+5$/,
    );
    expect(await pvctl('carried', 'berlin', 'rome')).toBe('no customization is carried by 2 or more of 2 packages');
  });
});
