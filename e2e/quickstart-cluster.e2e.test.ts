// docs/quickstart-cluster.md, followed: its marked shell blocks run with bash as they are written,
// against the real API server (kubectl from the test environment, the test's namespace) and a
// smart-HTTP git server on loopback standing in for https://git.example.com/acme/. The controller
// runs as the image (podman, host network) with the Deployment's ServiceAccount token; the doc's
// install block needs nodes and is not run.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { IDENTITY_ENV } from '../lib/git/testing/repos.ts';
import { startGitHttpServer, type GitHttpServer } from '../lib/git/testing/http-server.ts';
import { installRbac, kubectlPath, serviceAccountKubeConfig } from './deploy-env.ts';
import { adminKubeConfig, uniqueName } from './helpers.ts';
import { buildImage, removeContainer, startController } from './image-env.ts';
import { condition, useControllerEnv } from './packagevariant-env.ts';

const DOC = join(import.meta.dirname, '..', 'docs', 'quickstart-cluster.md');
const BUILD_TIMEOUT_MS = 40 * 60_000;
const DOC_GIT_BASE = 'https://git.example.com/acme/';

/** The fenced block after each `<!-- quickstart: NAME -->` marker of the doc. */
export function quickstartBlocks(markdown: string): Map<string, string> {
  const blocks = new Map<string, string>();
  const marker = /<!-- quickstart: ([\w-]+) -->\s*\n\s*```[\w-]*\n([\s\S]*?)\n```/g;
  for (const m of markdown.matchAll(marker)) blocks.set(m[1]!, `${m[2]!}\n`);
  return blocks;
}

// The image e2e/image.e2e.test.ts tests (a layer-cache hit when that file ran first).
beforeAll(() => void buildImage(BUILD_TIMEOUT_MS), BUILD_TIMEOUT_MS);

describe('docs/quickstart-cluster.md', () => {
  const env = useControllerEnv();
  let git: GitHttpServer | undefined;
  let controller: string | undefined;

  afterEach(async () => {
    if (controller) removeContainer(controller);
    controller = undefined;
    await git?.close();
    git = undefined;
  });

  it('has the blocks the test runs', () => {
    const blocks = quickstartBlocks(readFileSync(DOC, 'utf8'));
    expect([...blocks.keys()]).toEqual(['install', 'blueprint', 'repositories', 'variant', 'draft', 'draft-output']);
  });

  it('runs as written: blueprint, repositories, variant, and the draft it shows', async () => {
    const blocks = quickstartBlocks(readFileSync(DOC, 'utf8'));
    const root = env.root();
    // The git server and the two repositories the doc assumes (a `main` branch each).
    await env.repo('blueprints');
    await env.repo('deployments');
    git = await startGitHttpServer({ root });

    // Instead of the install block: config/default's namespace and RBAC, and the controller's image
    // run with the Deployment's ServiceAccount token.
    await installRbac();
    const saConfig = join(root, 'sa-kubeconfig');
    writeFileSync(saConfig, (await serviceAccountKubeConfig()).exportConfig());
    controller = uniqueName('pv-quickstart');
    startController(controller, saConfig, env.namespace());

    // kubectl as the reader has it: a kubeconfig whose namespace is the test's.
    const admin = adminKubeConfig();
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: admin.clusters,
      users: admin.users,
      contexts: [{ ...admin.getContextObject(admin.getCurrentContext())!, namespace: env.namespace() }],
      currentContext: admin.getCurrentContext(),
    });
    const kubeconfig = join(root, 'kubeconfig');
    writeFileSync(kubeconfig, kc.exportConfig());
    const shellEnv = {
      ...process.env,
      ...IDENTITY_ENV,
      PATH: `${join(kubectlPath(), '..')}:${process.env.PATH}`,
      KUBECONFIG: kubeconfig,
      HOME: root,
      GIT_CONFIG_NOSYSTEM: '1',
    };
    // Asynchronously: the git server answering the blocks' git commands runs in this process.
    const run = async (name: string): Promise<string> => {
      const script = blocks.get(name)!.replaceAll(DOC_GIT_BASE, `${git!.baseUrl}/`);
      const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: root, env: shellEnv });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
      if (status !== 0) throw new Error(`block ${name} exited ${status}:\n${stderr}\n${stdout}`);
      return stdout;
    };

    await run('blueprint');
    expect(await env.getVariant('nginx-east')).toBeUndefined();
    await run('repositories');
    await run('variant'); // ends with kubectl wait --for=condition=Ready
    const pv = await env.getVariant('nginx-east');
    expect(condition(pv, 'Ready')?.status).toBe('True');

    const printed = await run('draft');
    // What the reader sees: their git URLs, commits of their own.
    const asInDoc = (text: string) =>
      text.replaceAll(`${git!.baseUrl}/`, DOC_GIT_BASE).replace(/\b[0-9a-f]{40}\b/g, '<commit>');
    expect(asInDoc(printed)).toBe(asInDoc(blocks.get('draft-output')!));
  }, 180_000);
});
