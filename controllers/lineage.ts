// Which package derives from which: every PackageVariant is an edge from its upstream package to
// its downstream package. Pure functions over objects; `pvctl tree` prints them, and a local pass
// uses `dependentsOf` to carry a published change down every level in one run.
import type { KubeObject, PackageVariant, Repository } from '../api/v1alpha1/index.ts';
import { parseReference } from '../lib/oci/reference.ts';
import { OCI_URL_PREFIX } from './repositories/oci-source.ts';
import { keyOf, keyString } from './store.ts';

/** A package, named by where it lives: `<repository URL>//<package path>`. */
export type PackageId = string;

export interface LineageEdge {
  /** The variant, `namespace/name`. */
  variant: string;
  upstream: PackageId;
  downstream: PackageId;
}

export const packageIdOf = (url: string, path: string): PackageId =>
  `${url.replace(/\/+$/, '')}//${path.replace(/^\/+|\/+$/g, '')}`;

/** The repository URL and the package path of a PackageId (the first `//` after the URL's scheme). */
export function splitPackageId(id: PackageId): { url: string; path: string } {
  const at = id.indexOf('//', id.indexOf('://') + 3);
  return { url: id.slice(0, at), path: id.slice(at + 2) };
}

/** Repository URLs by `namespace/name`. */
export function repositoryUrls(objects: readonly KubeObject[]): Map<string, string> {
  const urls = new Map<string, string>();
  for (const o of objects) {
    const spec = o.kind === 'Repository' ? (o as Repository).spec : undefined;
    const url = spec?.type === 'oci' && spec.oci ? `${OCI_URL_PREFIX}${spec.oci.registry}` : spec?.git?.repo;
    if (url) urls.set(keyString(keyOf(o)), url);
  }
  return urls;
}

/** `oci://registry/repository` of an image reference, undefined when it is not one. */
function imageUrl(image: string): string | undefined {
  try {
    const { registry, repository } = parseReference(image);
    return `${OCI_URL_PREFIX}${registry}/${repository}`;
  } catch {
    return undefined;
  }
}

/** The variant's upstream and downstream packages; undefined for a side whose repository is unknown. */
export function edgeOf(pv: PackageVariant, urls: ReadonlyMap<string, string>): LineageEdge | undefined {
  const namespace = pv.metadata?.namespace ?? 'default';
  const up = pv.spec?.upstream;
  const down = pv.spec?.downstream;
  let upstreamUrl = up?.oci
    ? imageUrl(up.oci.image)
    : (up?.git?.repo ?? (up?.repo ? urls.get(`${namespace}/${up.repo}`) : undefined));
  let upstreamPath = up?.oci ? '' : up?.git ? (up.git.directory ?? '') : up?.package;
  // An OCI package is its image, however it is named: `oci://registry/repository//`.
  if (upstreamUrl?.startsWith(OCI_URL_PREFIX) && upstreamPath) {
    upstreamUrl = `${upstreamUrl.replace(/\/+$/, '')}/${upstreamPath.replace(/^\/+|\/+$/g, '')}`;
    upstreamPath = '';
  }
  const downstreamUrl = down?.repo ? urls.get(`${namespace}/${down.repo}`) : undefined;
  if (upstreamUrl === undefined || upstreamPath === undefined || !downstreamUrl || !down?.package) return undefined;
  return {
    variant: keyString(keyOf(pv)),
    upstream: packageIdOf(upstreamUrl, upstreamPath),
    downstream: packageIdOf(downstreamUrl, down.package),
  };
}

export function lineageOf(variants: readonly PackageVariant[], urls: ReadonlyMap<string, string>): LineageEdge[] {
  return variants.map((pv) => edgeOf(pv, urls)).filter((e) => e !== undefined);
}

/** Everything that receives a change of `root`, at any depth, breadth first (each package once). */
export function dependentsOf(edges: readonly LineageEdge[], root: PackageId): Array<LineageEdge & { depth: number }> {
  const out: Array<LineageEdge & { depth: number }> = [];
  const seen = new Set([root]);
  let frontier = [root];
  for (let depth = 1; frontier.length; depth++) {
    const next: PackageId[] = [];
    for (const edge of edges) {
      if (!frontier.includes(edge.upstream)) continue;
      out.push({ ...edge, depth });
      if (!seen.has(edge.downstream)) {
        seen.add(edge.downstream);
        next.push(edge.downstream);
      }
    }
    frontier = next;
  }
  return out;
}

/**
 * The lineage as an indented tree: each package with no upstream of its own at the left, the
 * packages derived from it below, each line naming the variant that makes it. A package reached
 * again (a cycle, or two paths) is printed once more, marked, without its subtree.
 */
export function treeLines(edges: readonly LineageEdge[], label: (p: PackageId) => string = (p) => p): string[] {
  const downstreams = new Set(edges.map((e) => e.downstream));
  const roots = [...new Set(edges.map((e) => e.upstream))].filter((p) => !downstreams.has(p)).sort();
  const lines: string[] = [];
  const printed = new Set<PackageId>();
  const walk = (pkg: PackageId, prefix: string) => {
    const children = edges.filter((e) => e.upstream === pkg).sort((a, b) => a.downstream.localeCompare(b.downstream));
    children.forEach((edge, i) => {
      const last = i === children.length - 1;
      const again = printed.has(edge.downstream);
      lines.push(
        `${prefix}${last ? '└── ' : '├── '}${label(edge.downstream)}  (${edge.variant})${again ? '  [shown above]' : ''}`,
      );
      if (again) return;
      printed.add(edge.downstream);
      walk(edge.downstream, prefix + (last ? '    ' : '│   '));
    });
  };
  for (const root of roots) {
    lines.push(label(root));
    printed.add(root);
    walk(root, '');
  }
  // packages only on a cycle have no root: start from the first of them
  for (const edge of [...edges].sort((a, b) => a.upstream.localeCompare(b.upstream))) {
    if (printed.has(edge.upstream)) continue;
    lines.push(`${label(edge.upstream)}  [cycle]`);
    printed.add(edge.upstream);
    walk(edge.upstream, '');
  }
  return lines;
}
