// Which catalog images run as built-ins: an image's name (after a known catalog registry prefix)
// and its tag (a version range per function). Unknown names, other registries, digests and versions
// outside the range are not built-ins (they need the container runtime).
import type { YAMLMap } from 'yaml';
import type { FunctionOutput, ResourceList } from './types.ts';
import type { Limits } from './runtimes/process.ts';

/** The registries the function catalog has been published from (a bare name means the default one, as kpt resolves it). */
export const CATALOG_PREFIXES = [
  'gcr.io/kpt-fn/',
  'ghcr.io/kptdev/krm-functions-catalog/wasm/',
  'ghcr.io/kptdev/krm-functions-catalog/',
  '',
] as const;

export interface Builtin {
  /** Catalog function name, e.g. `set-namespace`. */
  name: string;
  /** Lowest catalog version whose behaviour the built-in has (inclusive), `[major, minor]`. */
  since: [number, number];
  /** Versions below this are accepted (exclusive), `[major, minor]`: the next major is never assumed compatible. */
  before: [number, number];
  /** `typescript` built-ins run in process and never read kpt's annotations (path, index, id). */
  runtime: 'typescript' | 'wasm';
  run(list: ResourceList, limits: Limits): Promise<FunctionOutput> | FunctionOutput;
  /** The resources the function can read or change with this config; only those are given to it (undefined: all). */
  scope?(config: YAMLMap | undefined): ((node: YAMLMap) => boolean) | undefined;
}

export interface ImageRef {
  name: string;
  tag?: string;
  digest?: string;
  prefix: string;
}

/** Splits an image into catalog prefix, function name, tag and digest; undefined when it is not a catalog image. */
export function parseCatalogImage(image: string): ImageRef | undefined {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  for (const prefix of CATALOG_PREFIXES) {
    if (!rest.startsWith(prefix)) continue;
    const name = rest.slice(prefix.length);
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) continue;
    return { name, prefix, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
  }
  return undefined;
}

/** `v0.4`, `v0.4.1`, `0.4` → [0, 4]; undefined for anything else. */
function versionOf(tag: string): [number, number] | undefined {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(tag);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2] ?? 0)];
}

const cmp = (a: [number, number], b: [number, number]) => a[0] - b[0] || a[1] - b[1];

/**
 * The built-in for an image, or why there is none. Tags `latest`, `unstable` and no tag mean the
 * newest catalog release, which the built-ins follow. `tag` is the Kptfile's `tag` field (a version).
 */
export function findBuiltin(builtins: readonly Builtin[], image: string, tag?: string): Builtin | string {
  const ref = parseCatalogImage(image);
  if (!ref) return `${JSON.stringify(image)} is not a function catalog image`;
  const builtin = builtins.find((b) => b.name === ref.name);
  if (!builtin) return `there is no built-in ${ref.name}`;
  if (ref.digest) return `an image pinned by digest cannot be matched to a built-in`;
  const wanted = tag ?? ref.tag;
  if (wanted === undefined || wanted === 'latest' || wanted === 'unstable') return builtin;
  const version = versionOf(wanted);
  if (!version) return `tag ${JSON.stringify(wanted)} is not a version`;
  if (cmp(version, builtin.since) < 0 || cmp(version, builtin.before) >= 0) {
    return `the built-in ${ref.name} implements v${builtin.since.join('.')} up to (not including) v${builtin.before.join('.')}, not ${wanted}`;
  }
  return builtin;
}
