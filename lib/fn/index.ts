// lib/fn: KRM function runtimes and the Kptfile pipeline render (see docs/render.md).
export {
  renderPackage,
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_TIMEOUT_MS,
  type RenderOptions,
  type RenderOutcome,
} from './render.ts';
export type { RunnerOptions } from './runners.ts';
export { CONTAINER_RUNTIMES, type ContainerRuntime } from './runtimes/container.ts';
export { BUILTINS } from './builtins/index.ts';
export { findBuiltin, parseCatalogImage, type Builtin } from './registry.ts';
export * from './types.ts';
