// `pvctl tree`: upstream → downstream chains across levels (blueprint → regional → site), from
// manifests (-f, with the variants their sets generate) or from the cluster; `--dependents
// PACKAGE` lists everything that would receive a change of PACKAGE, at any depth.
import type { Command } from 'commander';
import { formatFieldError, type KubeObject, type PackageVariant } from '../../api/v1alpha1/index.ts';
import {
  dependentsOf,
  lineageOf,
  packageIdOf,
  repositoryUrls,
  splitPackageId,
  treeLines,
  type PackageId,
} from '../../controllers/lineage.ts';
import { expandSetsLocally } from '../../controllers/local.ts';
import { DEFAULT_READ_LIMITS, describeSource, loadManifests } from '../../lib/kube/manifest-reader.ts';
import { UsageError } from '../exit-codes.ts';
import { describeObject, serialize } from '../output.ts';

interface TreeOptions {
  filename?: string[];
  dependents?: string;
  output?: string;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces?: boolean;
}

async function objectsFrom(options: TreeOptions, err: (line: string) => void): Promise<KubeObject[]> {
  if (options.filename?.length) {
    const { objects, errors } = loadManifests(options.filename, DEFAULT_READ_LIMITS);
    for (const e of errors) err(`${describeSource(e)}: ${e.message}`);
    const input = objects.map((o) => o.object);
    const { variants, rejected } = await expandSetsLocally(input, (i) => describeSource(objects[i]!));
    for (const { index, object, errors: problems } of rejected) {
      for (const problem of problems) {
        err(
          `${describeSource(objects[index]!)} ${describeObject(object)}: ${formatFieldError(problem)} (left out of the tree)`,
        );
      }
    }
    return [...(input as KubeObject[]).filter((o) => o.kind === 'Repository'), ...variants];
  }
  const { connect } = await import('../kube-options.ts');
  const { listObjects } = await import('./cluster.ts');
  const { KINDS } = await import('../printers.ts');
  const cluster = connect(options);
  const [variants, repositories] = await Promise.all([
    listObjects(
      cluster,
      KINDS.find((k) => k.kind === 'PackageVariant')!,
    ),
    listObjects(
      cluster,
      KINDS.find((k) => k.kind === 'Repository')!,
    ),
  ]);
  return [...repositories.map((r) => ({ ...r, kind: 'Repository' })), ...variants];
}

/** `repo:package` for a package in a known Repository, else the URL form. */
function labeller(urls: Map<string, string>): (p: PackageId) => string {
  const names = new Map<string, string>();
  for (const [key, url] of urls) {
    const { url: normalized } = splitPackageId(packageIdOf(url, ''));
    if (!names.has(normalized)) names.set(normalized, key.split('/')[1]!);
  }
  return (p) => {
    const { url, path } = splitPackageId(p);
    const name = names.get(url);
    return name ? `${name}:${path}` : p;
  };
}

/** A package the user names: `REPOSITORY/PATH` (a Repository of the namespace) or `URL//PATH`. */
function packageId(text: string, urls: Map<string, string>, namespace: string): PackageId {
  if (text.includes('://')) return text;
  const slash = text.indexOf('/');
  const url = slash > 0 ? urls.get(`${namespace}/${text.slice(0, slash)}`) : undefined;
  if (!url)
    throw new UsageError(
      `--dependents ${text}: give REPOSITORY/PACKAGE (a Repository in ${namespace}) or URL//PACKAGE`,
    );
  return packageIdOf(url, text.slice(slash + 1));
}

export async function runTree(
  options: TreeOptions,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  if (options.output && !['text', 'json', 'yaml'].includes(options.output)) {
    throw new UsageError(`unknown output format ${JSON.stringify(options.output)}; use text, yaml or json`);
  }
  const objects = await objectsFrom(options, err);
  const urls = repositoryUrls(objects);
  const edges = lineageOf(objects.filter((o) => o.kind === 'PackageVariant') as PackageVariant[], urls);
  const label = labeller(urls);
  const structured = options.output === 'json' || options.output === 'yaml';
  if (options.dependents !== undefined) {
    const root = packageId(options.dependents, urls, options.namespace ?? 'default');
    const found = dependentsOf(edges, root);
    if (structured) {
      const items = found.map((d) => ({
        depth: d.depth,
        variant: d.variant,
        upstream: label(d.upstream),
        downstream: label(d.downstream),
      }));
      out(serialize({ package: label(root), dependents: items }, options.output as 'json' | 'yaml'));
    } else if (found.length === 0) err(`nothing derives from ${label(root)}`);
    else
      for (const d of found) out(`${'  '.repeat(d.depth - 1)}${label(d.downstream)}  (${d.variant}, level ${d.depth})`);
    return 0;
  }
  if (structured) {
    out(
      serialize(
        {
          edges: edges.map((e) => ({
            variant: e.variant,
            upstream: label(e.upstream),
            downstream: label(e.downstream),
          })),
        },
        options.output as 'json' | 'yaml',
      ),
    );
  } else {
    const lines = treeLines(edges, label);
    if (lines.length === 0) err('no PackageVariants');
    for (const line of lines) out(line);
  }
  return 0;
}

export function registerTree(program: Command): void {
  program
    .command('tree')
    .description(
      'upstream → downstream chains across levels (blueprint → regional → site), from manifests (-f) or the cluster; --dependents PACKAGE lists what a change of PACKAGE reaches',
    )
    .option(
      '-f, --filename <path...>',
      'manifests (Repositories, PackageVariants, PackageVariantSets); default: the cluster',
    )
    .option(
      '--dependents <package>',
      'REPOSITORY/PACKAGE (or URL//PACKAGE): everything that would receive its change, at any depth',
    )
    .option('-o, --output <format>', 'text, yaml or json', 'text')
    .option('--kubeconfig <path>', 'kubeconfig file (without -f)')
    .option('--context <name>', 'the kubeconfig context (without -f)')
    .option('-n, --namespace <ns>', "namespace (default: the context's, else default)")
    .option('-A, --all-namespaces', 'every namespace (without -f)', false)
    .action(async (options: TreeOptions) => {
      process.exitCode = await runTree(
        options,
        (l) => console.log(l),
        (l) => console.error(l),
      );
    });
}
