// Picks the runtime of one pipeline entry: a built-in for catalog images it implements, an allowed
// executable for `exec:`, the container runtime for other images when the operator enabled one.
import { BUILTINS } from './builtins/index.ts';
import { withoutWrites } from './krm.ts';
import { findBuiltin, type Builtin } from './registry.ts';
import { runContainer, type ContainerRuntime } from './runtimes/container.ts';
import { resolveExec, runExec } from './runtimes/exec.ts';
import type { Limits } from './runtimes/process.ts';
import type { FunctionOutput, FunctionSpec, ResourceList } from './types.ts';

export interface RunnerOptions {
  /** Executables `exec:` functions may name (paths, or names looked up in PATH); nothing else is ever run. Default: none. */
  allowExec?: readonly string[];
  /** Directory relative `exec:` paths are resolved against (the package directory on disk); without it they are refused. */
  execDir?: string;
  /** Run images that are not built-ins with this CLI. Default: off (such a function fails the render). */
  containerRuntime?: ContainerRuntime;
  /** Wall-clock limit of each function, ms (default 60 s). */
  timeoutMs?: number;
  /** Limit of each function's output, bytes (default 64 MiB). */
  maxOutputBytes?: number;
}

export interface Runner {
  kind: 'builtin' | 'exec' | 'container';
  /** The output arrives as YAML text (and is laid onto the input to keep its layout). */
  serialized: boolean;
  run(list: ResourceList, limits: Limits): Promise<FunctionOutput>;
  /**
   * An in-process built-in run that may not change its input: the output when the function left
   * every node as it was, undefined when it would have changed one (nothing was changed).
   */
  runUnchanged?(list: ResourceList, limits: Limits): FunctionOutput | undefined;
  /** The runtime reads the items' source texts ({@link ResourceList.sources}). */
  readsSources?: boolean;
  scope?: Builtin['scope'];
}

/** The runner for `spec`, or why it cannot run. */
export function resolveRunner(spec: FunctionSpec, options: RunnerOptions): Runner | string {
  if (spec.exec) {
    const resolved = resolveExec(spec.exec, options.allowExec ?? [], options.execDir);
    if (typeof resolved === 'string') return resolved;
    return {
      kind: 'exec',
      serialized: true,
      run: (list, limits) => runExec(resolved.program, resolved.args, list, limits),
    };
  }
  const image = spec.image ?? '';
  const builtin = findBuiltin(BUILTINS, image, spec.tag);
  if (typeof builtin !== 'string') {
    return {
      kind: 'builtin',
      serialized: builtin.runtime === 'wasm',
      run: async (list, limits) => builtin.run(list, limits),
      ...(builtin.runtime === 'typescript'
        ? { runUnchanged: (list, limits) => runUnchanged(builtin, list, limits) }
        : { readsSources: true }),
      ...(builtin.scope ? { scope: builtin.scope } : {}),
    };
  }
  if (options.containerRuntime) {
    const runtime = options.containerRuntime;
    return { kind: 'container', serialized: true, run: (list, limits) => runContainer(runtime, image, list, limits) };
  }
  return `${builtin}, and no container runtime is enabled (containerRuntime) to run the image`;
}

function runUnchanged(builtin: Builtin, list: ResourceList, limits: Limits): FunctionOutput | undefined {
  let output;
  try {
    output = withoutWrites(() => builtin.run(list, limits));
  } catch {
    return undefined; // a WriteAttempt; any other error the full run meets again, and reports
  }
  if (output instanceof Promise) throw new Error(`the built-in ${builtin.name} must run synchronously`);
  return output;
}
