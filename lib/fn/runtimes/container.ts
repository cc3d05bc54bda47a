// Container images through the docker or podman CLI, only when the operator enabled one. The
// container gets no network, a read-only root, no new privileges, the nobody user and bounded
// memory, CPU and processes; the image is never pulled during a render (`--pull never`).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeResourceList } from '../resourcelist.ts';
import type { FunctionOutput, ResourceList } from '../types.ts';
import { toOutput } from './exec.ts';
import { runProcess, type Limits } from './process.ts';

export type ContainerRuntime = 'docker' | 'podman';
export const CONTAINER_RUNTIMES: readonly ContainerRuntime[] = ['docker', 'podman'];

/** The image reference a container runtime is given: letters, digits and `/._:@-` only, no leading `-`. */
export function isSafeImage(image: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9/._:@-]*$/.test(image) && image.length <= 512;
}

export function containerArgs(image: string, name: string): string[] {
  return [
    'run',
    '--rm',
    '-i',
    '--name',
    name,
    '--pull',
    'never',
    '--network',
    'none',
    '--read-only',
    '--security-opt',
    'no-new-privileges',
    '--user',
    'nobody',
    '--memory',
    '512m',
    '--cpus',
    '1',
    '--pids-limit',
    '256',
    '--',
    image,
  ];
}

export async function runContainer(
  runtime: ContainerRuntime,
  image: string,
  list: ResourceList,
  limits: Limits,
): Promise<FunctionOutput> {
  if (!isSafeImage(image))
    return { results: [], error: `image ${JSON.stringify(image)} is not a valid reference`, exitCode: 1 };
  const name = `pvctl-fn-${randomBytes(6).toString('hex')}`;
  const cwd = mkdtempSync(join(tmpdir(), 'pvctl-fn-'));
  try {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? cwd };
    const outcome = await runProcess(runtime, containerArgs(image, name), serializeResourceList(list), limits, {
      cwd,
      env,
      // killing the CLI does not stop the container: remove it by name
      onTimeout: () => void spawn(runtime, ['rm', '-f', name], { stdio: 'ignore' }).on('error', () => {}),
    });
    return toOutput(outcome);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
