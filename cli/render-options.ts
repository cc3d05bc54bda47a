// The function-runtime flags of `pvctl render`, `pvctl reconcile` and `pvctl run`: which `exec:`
// functions may run, whether images that are not built in run in a container, and how long each
// function may take (see docs/render.md).
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CONTAINER_RUNTIMES, type ContainerRuntime } from '../lib/fn/index.ts';
import type { RenderOptions } from '../lib/fn/render.ts';
import { UsageError } from './output.ts';
import { parseDuration } from './duration.ts';

export interface RenderFlagOptions {
  allowExec?: string[];
  containerRuntime?: string;
  fnTimeout?: string;
}

export const DEFAULT_FN_TIMEOUT = '60s';

export function addRenderOptions(command: Command): Command {
  return command
    .option(
      '--allow-exec <path...>',
      '`exec:` functions that may run (paths, or names looked up in PATH); none by default',
    )
    .option(
      '--container-runtime <runtime>',
      `run function images that are not built in with ${CONTAINER_RUNTIMES.join(' or ')} (off by default)`,
    )
    .option('--fn-timeout <duration>', `limit of each function run (default ${DEFAULT_FN_TIMEOUT})`);
}

/** lib/fn's options from the flags; a bad value is a usage error. */
export function renderOptionsFrom(options: RenderFlagOptions): RenderOptions {
  const runtime = options.containerRuntime;
  if (runtime !== undefined && !CONTAINER_RUNTIMES.includes(runtime as ContainerRuntime)) {
    throw new UsageError(`--container-runtime must be one of ${CONTAINER_RUNTIMES.join(', ')}, not ${runtime}`);
  }
  const timeoutMs = parseDuration(options.fnTimeout ?? DEFAULT_FN_TIMEOUT);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new UsageError(`--fn-timeout must be a positive duration, not ${options.fnTimeout}`);
  }
  return {
    allowExec: (options.allowExec ?? []).map((p) => (p.includes('/') ? resolve(p) : p)),
    timeoutMs,
    ...(runtime ? { containerRuntime: runtime as ContainerRuntime } : {}),
  };
}
