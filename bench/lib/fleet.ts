// The fleet of the fleet-upgrade benchmark, on disk with real bare git repositories (file://): one
// blueprint repository (package `app`, published as app/v1 — a tag on main, Porch layout), REPOS
// deployment repositories, N PackageVariants spread over them (downstream package = variant
// name) and the Repository objects. Setup steps are batched (one fast-import and one push per
// repository), never one process per variant. The checks recompute every draft independently.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { KubeObject, PackageVariant } from '../../api/v1alpha1/index.ts';
import { runGit } from '../../lib/git/exec.ts';
import { GitStore } from '../../lib/git/store.ts';
import { writeCommits } from '../../lib/git/writer.ts';
import { upgradePackage } from '../../lib/merge/upgrade.ts';
import { applyMutations } from '../../controllers/packagevariant/mutations.ts';
import { defaultPackageVariantSpec } from '../../api/v1alpha1/index.ts';
import { packageVariant, repository } from '../../controllers/testing/fixtures.ts';
import { renderPackage } from '../../lib/fn/render.ts';
import {
  API_DEPLOYMENT,
  blueprintFiles,
  customizationOf,
  customize,
  PACKAGE,
  RENDER_ANNOTATION,
  RENDER_LABEL,
  RENDER_NAMESPACE,
  SETTINGS_CONFIGMAP,
  V1,
  V2,
} from './fleet-package.ts';

const IDENTITY = { name: 'fleet-bench', email: 'fleet-bench@example.com' };
export const UPSTREAM_REPO = 'blueprints';

export interface Fleet {
  root: string;
  /** Where the "remote" bare repositories live. */
  remotes: string;
  upstreamBare: string;
  upstreamUrl: string;
  deploy: Array<{ name: string; bare: string; url: string; variants: string[] }>;
  names: string[];
  objects: KubeObject[];
  /** The blueprint's Kptfile declares the three-function pipeline (every draft is rendered). */
  pipeline: boolean;
}

export function variantName(i: number): string {
  return `site-${String(i).padStart(5, '0')}`;
}

async function initBare(path: string, files: Map<string, Buffer>, refs: string[]): Promise<string> {
  await runGit(['init', '-q', '--bare', '--initial-branch=main', path]);
  const [commit] = await writeCommits(path, [
    {
      parents: [],
      changes: [...files].map(([p, content]) => ({ kind: 'file' as const, path: p, content })),
      message: 'initial\n',
      author: IDENTITY,
      committer: IDENTITY,
    },
  ]);
  await updateRefs(path, refs, commit!);
  return commit!;
}

export async function updateRefs(gitDir: string, refs: string[], commit: string): Promise<void> {
  await runGit(['update-ref', '--stdin'], {
    env: { GIT_DIR: gitDir },
    input: refs.map((r) => `update ${r} ${commit}\n`).join(''),
  });
}

/** The variant spec: labels and package context, so mutations run on every draft. */
function variantSpec(name: string, repo: string): PackageVariant['spec'] {
  return {
    upstream: { repo: UPSTREAM_REPO, package: PACKAGE },
    downstream: { repo, package: name },
    labels: { 'fleet.example.com/managed': 'true' },
    annotations: { 'fleet.example.com/site': name },
    packageContext: { data: { site: name } },
  };
}

export async function createFleet(
  root: string,
  n: number,
  repos: number,
  options: { pipeline?: boolean } = {},
): Promise<Fleet> {
  const pipeline = options.pipeline ?? false;
  const remotes = join(root, 'remotes');
  mkdirSync(remotes, { recursive: true });
  const upstreamBare = join(remotes, `${UPSTREAM_REPO}.git`);
  const files = new Map<string, Buffer>([['README.md', Buffer.from('Blueprints\n')]]);
  for (const [p, content] of blueprintFiles(V1, pipeline)) files.set(`${PACKAGE}/${p}`, content);
  await initBare(upstreamBare, files, ['refs/heads/main', `refs/tags/${PACKAGE}/v1`]);
  const deploy: Fleet['deploy'] = [];
  for (let r = 0; r < repos; r++) {
    const name = `deploy-${String(r).padStart(3, '0')}`;
    const bare = join(remotes, `${name}.git`);
    await initBare(bare, new Map([['README.md', Buffer.from(`${name}\n`)]]), ['refs/heads/main']);
    deploy.push({ name, bare, url: `file://${bare}`, variants: [] });
  }
  const names: string[] = [];
  const objects: KubeObject[] = [repository(UPSTREAM_REPO, `file://${upstreamBare}`)];
  for (const d of deploy) objects.push(repository(d.name, d.url, true));
  for (let i = 0; i < n; i++) {
    const name = variantName(i);
    const repo = deploy[i % repos]!;
    repo.variants.push(name);
    names.push(name);
    objects.push(packageVariant(name, variantSpec(name, repo.name)));
  }
  return { root, remotes, upstreamBare, upstreamUrl: `file://${upstreamBare}`, deploy, names, objects, pipeline };
}

export function storeFor(url: string, cacheDir: string): GitStore {
  return new GitStore({ url, cacheDir, author: { name: 'A Person', email: 'person@example.com' } });
}

function expectAll(results: Array<{ status: string; message?: string }>, status: string, what: string): void {
  const bad = results.filter((r) => r.status !== status);
  if (bad.length) throw new Error(`${what}: ${bad.length} not ${status}, e.g. ${JSON.stringify(bad[0])}`);
}

/** Publishes every variant's only draft: one approve batch (one fast-import, one push) per repository. */
export async function approveAllDrafts(fleet: Fleet, cacheDir: string): Promise<void> {
  await Promise.all(
    fleet.deploy.map(async (d) => {
      const store = storeFor(d.url, cacheDir);
      try {
        await store.refresh();
        const drafts = (await store.listRevisions()).filter((r) => r.lifecycle === 'Draft');
        if (drafts.length !== d.variants.length)
          throw new Error(`${d.name}: ${drafts.length} drafts, expected ${d.variants.length}`);
        const batch = store.batch();
        for (const r of drafts) batch.approve({ packageName: r.packageName, workspace: r.workspace });
        expectAll(await batch.push(), 'created', `approve in ${d.name}`);
      } finally {
        store.close();
      }
    }),
  );
}

/**
 * Each downstream's own change, as a person publishes it: a draft with the customized files (one
 * createDraft batch per repository), then approved (one approve batch per repository).
 */
export async function publishCustomizations(fleet: Fleet, cacheDir: string): Promise<void> {
  await Promise.all(
    fleet.deploy.map(async (d) => {
      const store = storeFor(d.url, cacheDir);
      try {
        await store.refresh();
        const current = await store.readPackages(d.variants.map((packageName) => ({ packageName })));
        const batch = store.batch();
        d.variants.forEach((packageName, i) => {
          const index = fleet.names.indexOf(packageName);
          batch.createDraft({
            packageName,
            workspace: 'site-edit-1',
            files: customize(current[i]!, customizationOf(packageName, index)),
            title: `${packageName}: site settings`,
          });
        });
        expectAll(await batch.push(), 'created', `customization drafts in ${d.name}`);
        const approve = store.batch();
        for (const packageName of d.variants) approve.approve({ packageName, workspace: 'site-edit-1' });
        expectAll(await approve.push(), 'created', `customization approvals in ${d.name}`);
      } finally {
        store.close();
      }
    }),
  );
}

/** Publishes the upstream change as app/v2 (a commit on main and its tag); returns the commit. */
export async function publishUpstreamV2(fleet: Fleet): Promise<string> {
  const head = (await runGit(['rev-parse', 'refs/heads/main'], { env: { GIT_DIR: fleet.upstreamBare } })).stdout
    .toString()
    .trim();
  const [commit] = await writeCommits(fleet.upstreamBare, [
    {
      parents: [head],
      changes: [{ kind: 'files', path: PACKAGE, files: blueprintFiles(V2, fleet.pipeline) }],
      message: `${PACKAGE}: release 1.5.0 (metrics port, legacy probe gone)\n`,
      author: IDENTITY,
      committer: IDENTITY,
    },
  ]);
  await updateRefs(fleet.upstreamBare, ['refs/heads/main', `refs/tags/${PACKAGE}/v2`], commit!);
  return commit!;
}

/** Copies the remotes (and a cache) aside, to run the measured pass several times from one state. */
export function snapshot(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}

export function restore(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}

export interface Verification {
  checked: number;
  /** Variants whose draft equals the independently computed merge byte for byte. */
  exact: number;
  /** Variants whose draft passes every field check. */
  fieldsOk: number;
  /** Packages with exactly one draft ref. */
  oneDraft: number;
  problems: string[];
}

function yamlOf(files: Map<string, Buffer>, path: string): Record<string, unknown> {
  const content = files.get(path);
  if (!content) throw new Error(`${path} missing`);
  return parse(content.toString('utf8')) as Record<string, unknown>;
}

/** Field checks of one upgraded draft: the upstream change arrived and the site's edits stayed. */
export function checkFields(
  name: string,
  index: number,
  files: Map<string, Buffer>,
  v2Commit: string,
  pipeline = false,
): string[] {
  const problems: string[] = [];
  const c = customizationOf(name, index);
  const check = (ok: boolean, what: string) => {
    if (!ok) problems.push(`${name}: ${what}`);
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const api = yamlOf(files, API_DEPLOYMENT) as any;
  const container = api.spec.template.spec.containers[0];
  check(container.image === 'registry.example.com/shop/api:1.5.0', `image is ${container.image}`);
  check(
    container.ports.some((p: { containerPort: number }) => p.containerPort === 9090),
    'api Deployment lacks port 9090',
  );
  check(!('example.com/legacy-probe' in (api.metadata.annotations ?? {})), 'legacy-probe annotation still there');
  check(api.metadata.labels?.site === c.site, `label site is ${api.metadata.labels?.site}`);
  check(api.spec.replicas === c.replicas, `replicas ${api.spec.replicas}, expected ${c.replicas}`);
  check(
    container.env.some((e: { name: string; value: string }) => e.name === 'SITE' && e.value === c.site),
    'env SITE missing',
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const service = yamlOf(files, 'workloads/api-service.yaml') as any;
  check(
    service.spec.ports.some((p: { port: number }) => p.port === 9090),
    'api Service lacks port 9090',
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const settings = yamlOf(files, SETTINGS_CONFIGMAP) as any;
  check(settings.data.LOG_LEVEL === c.logLevel, `LOG_LEVEL ${settings.data.LOG_LEVEL}, expected ${c.logLevel}`);
  for (const app of ['web', 'worker', 'cache', 'gateway', 'scheduler']) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const d = yamlOf(files, `workloads/${app}-deployment.yaml`) as any;
    check(d.spec.template.spec.containers[0].image.endsWith(':1.5.0'), `${app} image not 1.5.0`);
    check(d.spec.replicas === 2, `${app} replicas changed`);
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const kptfile = yamlOf(files, 'Kptfile') as any;
  check(kptfile.upstreamLock?.git?.commit === v2Commit, 'upstreamLock is not the v2 commit');
  check(kptfile.metadata?.labels?.['fleet.example.com/managed'] === 'true', 'variant label missing');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const context = yamlOf(files, 'package-context.yaml') as any;
  check(context.data?.site === name, 'package context site missing');
  if (pipeline) {
    // The render ran on this draft: set-namespace, set-labels and apply-replacements left their marks.
    for (const app of ['api', 'web', 'worker', 'cache', 'gateway', 'scheduler']) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const d = yamlOf(files, `workloads/${app}-deployment.yaml`) as any;
      check(d.metadata.namespace === RENDER_NAMESPACE, `${app} Deployment namespace is ${d.metadata.namespace}`);
      check(
        d.metadata.labels?.[RENDER_LABEL.key] === RENDER_LABEL.value,
        `${app} Deployment lacks label ${RENDER_LABEL.key}`,
      );
    }
    check(
      api.metadata.annotations?.[RENDER_ANNOTATION] === c.logLevel,
      `api annotation ${RENDER_ANNOTATION} is ${api.metadata.annotations?.[RENDER_ANNOTATION]}, expected ${c.logLevel}`,
    );
  }
  return problems;
}

function sameFiles(a: Map<string, Buffer>, b: Map<string, Buffer>): string | undefined {
  const paths = new Set([...a.keys(), ...b.keys()]);
  for (const p of paths) {
    const x = a.get(p);
    const y = b.get(p);
    if (!x || !y || !x.equals(y)) return p;
  }
  return undefined;
}

/**
 * The upgrade draft a variant must get: upgradePackage(v1, v2, published) + the variant's mutations
 * (+ the Kptfile pipeline, rendered, with `render`).
 */
export async function expectedDraft(input: {
  v1: Map<string, Buffer>;
  v2: Map<string, Buffer>;
  published: Map<string, Buffer>;
  pv: PackageVariant;
  lock: { repo: string; directory: string; ref: string; commit: string };
  render?: boolean;
}): Promise<Map<string, Buffer>> {
  const { v1, v2, published, pv, lock } = input;
  const merged = upgradePackage({ original: v1, updated: v2, local: published }, lock).files;
  const name = pv.metadata!.name!;
  const mutated = (
    await applyMutations(merged, { name, spec: defaultPackageVariantSpec(pv.spec!) }, { list: async () => [] })
  ).files;
  if (!input.render) return mutated;
  const rendered = await renderPackage(mutated);
  if (rendered.error !== undefined) throw new Error(`${name}: expected draft does not render: ${rendered.error}`);
  return rendered.files;
}

/** The lock an upgrade to app/v2 records. */
export function v2Lock(
  fleet: Fleet,
  v2Commit: string,
): { repo: string; directory: string; ref: string; commit: string } {
  return { repo: fleet.upstreamUrl, directory: PACKAGE, ref: `${PACKAGE}/v2`, commit: v2Commit };
}

/**
 * Checks every variant's upgrade draft, reading the remotes through a separate cache: exactly one
 * draft per package, the draft equal to upgradePackage(v1, v2, published) + the variant's
 * mutations computed here, and the field checks.
 */
export async function verifyUpgrade(fleet: Fleet, cacheDir: string, v2Commit: string): Promise<Verification> {
  const result: Verification = { checked: 0, exact: 0, fieldsOk: 0, oneDraft: 0, problems: [] };
  const upstream = storeFor(fleet.upstreamUrl, cacheDir);
  const byName = new Map(
    fleet.objects.filter((o) => o.kind === 'PackageVariant').map((o) => [o.metadata!.name!, o as PackageVariant]),
  );
  try {
    await upstream.refresh();
    const [v1, v2] = await upstream.readPackages([
      { packageName: PACKAGE, ref: 'v1' },
      { packageName: PACKAGE, ref: 'v2' },
    ]);
    const lock = v2Lock(fleet, v2Commit);
    for (const d of fleet.deploy) {
      const store = storeFor(d.url, cacheDir);
      try {
        await store.refresh();
        const revisions = await store.listRevisions();
        for (const name of d.variants) {
          result.checked++;
          const drafts = revisions.filter((r) => r.packageName === name && r.lifecycle === 'Draft');
          if (drafts.length === 1) result.oneDraft++;
          else result.problems.push(`${name}: ${drafts.length} drafts`);
          if (!drafts.length) continue;
          const [draft, published] = await store.readPackages([
            { packageName: name, commit: drafts[0]!.commit },
            { packageName: name },
          ]);
          const fieldProblems = checkFields(name, fleet.names.indexOf(name), draft!, v2Commit, fleet.pipeline);
          if (fieldProblems.length === 0) result.fieldsOk++;
          else result.problems.push(...fieldProblems);
          const expected = await expectedDraft({
            v1: v1!,
            v2: v2!,
            published: published!,
            pv: byName.get(name)!,
            lock,
            render: fleet.pipeline,
          });
          const differs = sameFiles(expected, draft!);
          if (differs === undefined) result.exact++;
          else result.problems.push(`${name}: ${differs} differs from the expected merge`);
        }
      } finally {
        store.close();
      }
    }
  } finally {
    upstream.close();
  }
  return result;
}

/** Draft refs per package in the remotes (duplicate check without any of our code). */
export async function draftRefCounts(fleet: Fleet): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const d of fleet.deploy) {
    const out = (
      await runGit(['for-each-ref', '--format=%(refname)', 'refs/heads/drafts/'], { env: { GIT_DIR: d.bare } })
    ).stdout.toString();
    for (const ref of out.split('\n').filter(Boolean)) {
      const pkg = ref.split('/')[3]!;
      counts.set(pkg, (counts.get(pkg) ?? 0) + 1);
    }
  }
  return counts;
}
