// The controller's image for the e2e specs: the Dockerfile built on scripts/image-base.sh's base
// (Debian packages and the npm registry only: no registry image is pulled), with docker or podman as
// scripts/image.sh picks, and containers run through scripts/image.sh (this machine's podman settings).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
export const IMAGE = 'localhost/packagevariant-controller:e2e';

function script(args: string[], timeoutMs: number): SpawnSyncReturns<string> {
  const result = spawnSync(join(ROOT, 'scripts', 'image.sh'), args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return result;
}

/** Builds the base (cached tarball) and the image (layer cache); returns how long each took. */
export function buildImage(timeoutMs: number): { base: string; baseMs: number; buildMs: number } {
  let started = Date.now();
  const base = spawnSync(join(ROOT, 'scripts', 'image-base.sh'), [], { encoding: 'utf8', timeout: timeoutMs });
  if (base.error) throw base.error;
  if (base.status !== 0) throw new Error(`scripts/image-base.sh failed (${base.status}):\n${base.stderr}`);
  const baseImage = base.stdout.trim().split('\n').pop()!;
  const baseMs = Date.now() - started;
  started = Date.now();
  const build = script(['build', IMAGE, baseImage], timeoutMs);
  if (build.status !== 0) throw new Error(`scripts/image.sh build failed (${build.status}):\n${build.stderr}`);
  return { base: baseImage, baseMs, buildMs: Date.now() - started };
}

/** `<engine> ARGS` (docker, or podman with this machine's settings). */
export function engine(args: string[], timeoutMs = 60_000): SpawnSyncReturns<string> {
  const tool = script(['tool'], 10_000).stdout.trim();
  return tool === 'docker'
    ? spawnSync('docker', args, { encoding: 'utf8', timeout: timeoutMs })
    : script(['podman', ...args], timeoutMs);
}

/** `<engine> ARGS`, failing with its stderr unless it exits 0; returns stdout. */
export function engineOk(args: string[], timeoutMs = 60_000): string {
  const result = engine(args, timeoutMs);
  if (result.status !== 0) {
    throw new Error(`${args.slice(0, 2).join(' ')} failed (${result.status}):\n${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

/**
 * Starts `pvctl run` in the image, detached, as a Deployment's pod runs it: the host network (the
 * test API server and git are on loopback), a read-only root with `/tmp` as tmpfs, the kubeconfig
 * mounted read-only. Metrics and webhook are off; the probes listen on `127.0.0.1:<probePort>` when given.
 */
export function startController(name: string, kubeconfig: string, namespace: string, probePort?: number): void {
  engineOk([
    'run',
    '-d',
    '--name',
    name,
    '--network=host',
    '--read-only',
    '--tmpfs',
    '/tmp',
    '-v',
    `${kubeconfig}:/etc/pvctl/kubeconfig:ro`,
    IMAGE,
    'run',
    '--kubeconfig',
    '/etc/pvctl/kubeconfig',
    '-n',
    namespace,
    '--poll-interval',
    '1s',
    '--cache-dir',
    '/tmp/cache',
    '--metrics-bind-address',
    '0',
    '--webhook-bind-address',
    '0',
    '--health-probe-bind-address',
    probePort ? `127.0.0.1:${probePort}` : '0',
  ]);
}

/** Removes the container; its logs are printed when E2E_LOG_LEVEL is set. */
export function removeContainer(name: string): void {
  if (process.env.E2E_LOG_LEVEL) {
    const logs = engine(['logs', name]);
    console.log(logs.stdout, logs.stderr);
  }
  engine(['rm', '-f', name]);
}
