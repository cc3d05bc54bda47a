// The controller's image, built here (Dockerfile on scripts/image-base.sh's Debian-made base) and run
// as a container: pvctl as UID 65532 with git, ssh and the built-in functions' WebAssembly module,
// and `pvctl run` on the host network with the ServiceAccount's least-privilege kubeconfig, a
// read-only root file system and git over HTTP on loopback, reconciling a PackageVariant.
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { blueprint } from '../controllers/testing/fixtures.ts';
import { startGitHttpServer, type GitHttpServer } from '../lib/git/testing/http-server.ts';
import { installRbac, serviceAccountKubeConfig } from './deploy-env.ts';
import { adminClients, eventually, uniqueName } from './helpers.ts';
import { buildImage, engineOk, IMAGE, removeContainer, startController } from './image-env.ts';
import { condition, useControllerEnv } from './packagevariant-env.ts';

const BUILD_TIMEOUT_MS = 40 * 60_000;
const KPTFILE_PIPELINE =
  'pipeline:\n  mutators:\n    - image: gcr.io/kpt-fn/set-annotations:v0.1.4\n      configMap:\n        rendered-by: pvctl\n';
const VERSION = (
  JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }
).version;

/** A blueprint whose Kptfile runs set-annotations — a WebAssembly built-in. */
function renderedBlueprint(name: string): Map<string, Buffer> {
  const files = blueprint(name);
  files.set('Kptfile', Buffer.concat([files.get('Kptfile')!, Buffer.from(KPTFILE_PIPELINE)]));
  return files;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(() => {
  const { base, baseMs, buildMs } = buildImage(BUILD_TIMEOUT_MS);
  console.log(`image: base ${base} in ${baseMs} ms, ${IMAGE} built in ${buildMs} ms`);
}, BUILD_TIMEOUT_MS);

describe('the image', () => {
  it('runs pvctl as UID 65532, with git, a working ssh client and no npm', () => {
    expect(engineOk(['image', 'inspect', '--format', '{{.Config.User}}', IMAGE]).trim()).toBe('65532:65532');
    expect(engineOk(['run', '--rm', IMAGE, 'version']).trim()).toContain(VERSION);
    const out = engineOk([
      'run',
      '--rm',
      '--entrypoint',
      '/bin/sh',
      IMAGE,
      '-c',
      // ssh looks the user up before anything else: it fails with "No user exists for uid" without /etc/passwd's entry
      'id -u; git --version; ssh -G example.com | grep "^user "; command -v npm || echo no npm',
    ]);
    expect(out.split('\n')).toEqual(['65532', expect.stringMatching(/^git version 2\./), 'user nonroot', 'no npm', '']);
  });

  it('renders a package with a WebAssembly built-in (pvctl render, read-only root)', () => {
    const dir = join(process.env.TMPDIR ?? '/tmp', uniqueName('pv-image-render'));
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of renderedBlueprint('web')) writeFileSync(join(dir, name), content);
    chmodSync(dir, 0o777);
    for (const name of ['Kptfile', 'deployment.yaml', 'service.yaml']) chmodSync(join(dir, name), 0o666);
    engineOk(['run', '--rm', '--read-only', '--tmpfs', '/tmp', '-v', `${dir}:/pkg`, IMAGE, 'render', '/pkg']);
    expect(readFileSync(join(dir, 'deployment.yaml'), 'utf8')).toContain('rendered-by: pvctl');
    expect(readFileSync(join(dir, 'service.yaml'), 'utf8')).toContain('rendered-by: pvctl');
  });
});

describe('the image running pvctl run', () => {
  const env = useControllerEnv();
  let container: string | undefined;
  let git: GitHttpServer | undefined;

  afterEach(async () => {
    if (container) removeContainer(container);
    container = undefined;
    await git?.close();
    git = undefined;
  });

  it('reconciles a PackageVariant over git on loopback with the ServiceAccount kubeconfig and exits 0 on SIGTERM', async () => {
    await installRbac();
    const kubeconfig = join(env.root(), 'kubeconfig');
    writeFileSync(kubeconfig, (await serviceAccountKubeConfig()).exportConfig(), { mode: 0o644 });
    const upstream = await env.repo('blueprints');
    const deploy = await env.repo('deploy');
    const v1 = await upstream.publish('nginx', renderedBlueprint('nginx'), 1);
    git = await startGitHttpServer({ root: env.root() });
    await env.createRepository('blueprints', `${git.baseUrl}/blueprints.git`);
    await env.createRepository('deploy', `${git.baseUrl}/deploy.git`, true);
    const probes = await freePort();

    container = uniqueName('pv-image');
    startController(container, kubeconfig, env.namespace(), probes);
    await eventually(async () => {
      expect((await fetch(`http://127.0.0.1:${probes}/readyz`)).status).toBe(200);
    }, 30_000);

    await env.createVariant('east', {
      upstream: { repo: 'blueprints', package: 'nginx' },
      downstream: { repo: 'deploy', package: 'east' },
    });
    const pv = await env.waitFor('east', (pv) => condition(pv, 'Ready')?.status === 'True', 60_000);
    expect(pv.status?.downstreamTargets).toEqual([
      expect.objectContaining({ lifecycle: 'Draft', ref: 'drafts/east/packagevariant-1', upstreamCommit: v1 }),
    ]);
    expect(pv.status?.observedGeneration).toBe(pv.metadata?.generation);
    expect(await deploy.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/east/packagevariant-1']);
    // The draft was rendered in the container: set-annotations ran from the image's WebAssembly module.
    expect(await deploy.show('drafts/east/packagevariant-1', 'east/deployment.yaml')).toContain('rendered-by: pvctl');
    // Git went over HTTP from the container; events were written with the ServiceAccount's token.
    expect(git.requests.some((r) => r.path.startsWith('/deploy.git/git-receive-pack'))).toBe(true);
    await eventually(async () => {
      const events = await adminClients().core.listNamespacedEvent({ namespace: env.namespace() });
      expect(events.items.map((e) => e.reason)).toContain('DraftCreated');
    });

    engineOk(['stop', '--time', '30', container], 60_000);
    expect(engineOk(['inspect', '--format', '{{.State.ExitCode}}', container]).trim()).toBe('0');
  }, 180_000);
});
