// The baselines of the fleet-upgrade benchmark, run on the same fleet, from the same state (the
// sites' customizations published, app/v2 just committed) as the controller's upgrade pass:
//
// * floor — the same N draft commits and refs, computed beforehand, written with one `git
//   fast-import` and pushed with one atomic push per repository: no merge, no reads, no API. The
//   physical limit of writing the drafts with git.
// * naive — what a shell loop around git does, per downstream: clone the repository, read the
//   package, merge (the same upgradePackage + mutations as the controller, in process), check out a
//   draft branch, commit, push. BASELINE_JOBS downstreams at once (default: one per CPU).
// * kpt — the same loop with `kpt pkg update <pkg>@app/v2 --strategy resource-merge` as the merge
//   (kpt built by scripts/kpt.sh); kpt's own git processes are counted by a `git` shim on its PATH.
//
// Each baseline runs in its own Node process (`node bench/lib/baselines.ts --spec FILE`), so its
// peak RSS and git process counts are its own. Benchmarks never assert on time.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { PackageVariant } from '../../api/v1alpha1/index.ts';
import { gitProcessStats, runGit } from '../../lib/git/exec.ts';
import { writeCommits } from '../../lib/git/writer.ts';
import { expectedDraft, storeFor, v2Lock, type Fleet } from './fleet.ts';
import { PACKAGE } from './fleet-package.ts';
import { childCpuSeconds } from './stats.ts';

const SELF = new URL(import.meta.url).pathname;
export const BASELINES = ['floor', 'naive', 'kpt'] as const;
export type BaselineName = (typeof BASELINES)[number];
/** The workspace of every baseline's upgrade draft: refs/heads/drafts/<package>/<workspace>. */
export const BASELINE_WORKSPACE = 'upgrade-v2';
const IDENTITY_ENV = {
  GIT_AUTHOR_NAME: 'fleet-baseline',
  GIT_AUTHOR_EMAIL: 'fleet-baseline@example.com',
  GIT_COMMITTER_NAME: 'fleet-baseline',
  GIT_COMMITTER_EMAIL: 'fleet-baseline@example.com',
};

export interface BaselineSpec {
  baseline: BaselineName;
  fleet: Fleet;
  v2Commit: string;
  work: string;
  jobs: number;
  kpt?: string;
}

export interface BaselineStats {
  name: BaselineName;
  /** floor: the fast-imports and pushes only; naive and kpt: from the upstream commit to the last push. */
  seconds: number;
  /** git processes: spawned by the baseline itself, plus (kpt) those kpt started, counted by the shim. */
  gitProcesses: number;
  byCommand: Record<string, { count: number; ms: number }>;
  kptGitProcesses?: number;
  pushes: number;
  jobs: number;
  /** Peak RSS of the Node process driving the baseline (kpt's and git's own are not included). */
  maxRssMiB: number;
  cpu: { node: number; children: number };
  processSeconds?: number;
}

export function defaultJobs(): number {
  return Number(process.env.BASELINE_JOBS ?? availableParallelism());
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function bounded<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function readDirFiles(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return files;
}

function writeDirFiles(dir: string, files: Map<string, Buffer>): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, content] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

const variantsByName = (fleet: Fleet) =>
  new Map(
    fleet.objects.filter((o) => o.kind === 'PackageVariant').map((o) => [o.metadata!.name!, o as PackageVariant]),
  );

const draftRef = (name: string) => `refs/heads/drafts/${name}/${BASELINE_WORKSPACE}`;

/** The floor: expected drafts computed first (not timed), then one fast-import + one atomic push per repository. */
async function floor(spec: BaselineSpec): Promise<{ seconds: number; pushes: number }> {
  const { fleet, work } = spec;
  const byName = variantsByName(fleet);
  const lock = v2Lock(fleet, spec.v2Commit);
  const upstream = storeFor(fleet.upstreamUrl, join(work, 'cache'));
  const prepared: Array<{ bare: string; url: string; commits: Parameters<typeof writeCommits>[1]; refs: string[] }> =
    [];
  try {
    await upstream.refresh();
    const [v1, v2] = await upstream.readPackages([
      { packageName: PACKAGE, ref: 'v1' },
      { packageName: PACKAGE, ref: 'v2' },
    ]);
    for (const d of fleet.deploy) {
      const store = storeFor(d.url, join(work, 'cache'));
      try {
        await store.refresh();
        const published = await store.readPackages(d.variants.map((packageName) => ({ packageName })));
        const main = (await runGit(['ls-remote', d.url, 'refs/heads/main'])).stdout.toString().split('\t')[0]!;
        const bare = join(work, `${d.name}.git`);
        await runGit(['clone', '-q', '--bare', d.url, bare]);
        const commits = [];
        for (const [i, name] of d.variants.entries()) {
          const files = await expectedDraft({
            v1: v1!,
            v2: v2!,
            published: published[i]!,
            pv: byName.get(name)!,
            lock,
          });
          commits.push({
            parents: [main],
            changes: [{ kind: 'files' as const, path: name, files }],
            message: `${name}: upgrade to ${PACKAGE}/v2\n`,
            author: { name: 'fleet-baseline', email: 'fleet-baseline@example.com' },
            committer: { name: 'fleet-baseline', email: 'fleet-baseline@example.com' },
          });
        }
        prepared.push({ bare, url: d.url, commits, refs: d.variants.map(draftRef) });
      } finally {
        store.close();
      }
    }
  } finally {
    upstream.close();
  }
  gitProcessStats.spawned = 0;
  gitProcessStats.byCommand = {};
  const start = performance.now();
  await Promise.all(
    prepared.map(async (p) => {
      const shas = await writeCommits(p.bare, p.commits);
      await runGit(['push', '-q', '--atomic', p.url, ...shas.map((sha, i) => `${sha}:${p.refs[i]}`)], {
        env: { GIT_DIR: p.bare },
      });
    }),
  );
  return { seconds: (performance.now() - start) / 1000, pushes: prepared.length };
}

/** Reads app/v1 and app/v2 from a clone of the blueprint repository, as a script would. */
async function upstreamVersions(fleet: Fleet, work: string): Promise<[Map<string, Buffer>, Map<string, Buffer>]> {
  const dir = join(work, 'blueprints');
  await runGit(['clone', '-q', fleet.upstreamUrl, dir]);
  const versions: Array<Map<string, Buffer>> = [];
  for (const tag of [`${PACKAGE}/v1`, `${PACKAGE}/v2`]) {
    await runGit(['checkout', '-q', tag], { cwd: dir });
    versions.push(readDirFiles(join(dir, PACKAGE)));
  }
  return [versions[0]!, versions[1]!];
}

/** Per downstream: clone, merge (`mergeInto`), draft branch, commit, push. */
async function perDownstream(
  spec: BaselineSpec,
  mergeInto: (clone: string, name: string) => Promise<void>,
): Promise<{ pushes: number }> {
  const { fleet, work } = spec;
  const jobs = fleet.deploy.flatMap((d) => d.variants.map((name) => ({ name, url: d.url })));
  await bounded(jobs, spec.jobs, async ({ name, url }) => {
    const clone = join(work, 'clones', name);
    await runGit(['clone', '-q', url, clone]);
    await mergeInto(clone, name);
    await runGit(['checkout', '-q', '-b', `drafts/${name}/${BASELINE_WORKSPACE}`], { cwd: clone });
    await runGit(['add', '-A'], { cwd: clone });
    await runGit(['commit', '-q', '-m', `${name}: upgrade to ${PACKAGE}/v2`], { cwd: clone, env: IDENTITY_ENV });
    await runGit(['push', '-q', 'origin', `HEAD:${draftRef(name)}`], { cwd: clone });
    rmSync(clone, { recursive: true, force: true });
  });
  return { pushes: jobs.length };
}

async function naive(spec: BaselineSpec): Promise<{ pushes: number }> {
  const byName = variantsByName(spec.fleet);
  const lock = v2Lock(spec.fleet, spec.v2Commit);
  const [v1, v2] = await upstreamVersions(spec.fleet, spec.work);
  return perDownstream(spec, async (clone, name) => {
    const dir = join(clone, name);
    const files = await expectedDraft({ v1, v2, published: readDirFiles(dir), pv: byName.get(name)!, lock });
    writeDirFiles(dir, files);
  });
}

/** A `git` first on PATH that counts its invocations in `counter` and runs the real git. */
export async function gitShim(dir: string, counter: string): Promise<string> {
  const real = (await new Promise<string>((resolve, reject) =>
    execFile('sh', ['-c', 'command -v git'], (error, out) => (error ? reject(error) : resolve(out.trim()))),
  ))!;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'git'), `#!/bin/sh\necho >> '${counter}'\nexec '${real}' "$@"\n`);
  chmodSync(join(dir, 'git'), 0o755);
  writeFileSync(counter, '');
  return dir;
}

async function kpt(spec: BaselineSpec): Promise<{ pushes: number; kptGitProcesses: number }> {
  const counter = join(spec.work, 'kpt-git-count');
  const shim = await gitShim(join(spec.work, 'shim'), counter);
  const result = await perDownstream(spec, (clone, name) => {
    // kpt's repository cache under $HOME/.kpt is not safe for concurrent kpt processes: one HOME each.
    const home = join(spec.work, 'kpt-home', name);
    mkdirSync(home, { recursive: true });
    const env = { ...process.env, PATH: `${shim}:${process.env.PATH}`, HOME: home, ...IDENTITY_ENV };
    return new Promise<void>((resolve, reject) =>
      execFile(
        spec.kpt!,
        ['pkg', 'update', `${name}@${PACKAGE}/v2`, '--strategy', 'resource-merge'],
        { cwd: clone, env },
        (error, _out, err) =>
          error ? reject(new Error(`kpt pkg update ${name}: ${err || error.message}`)) : resolve(),
      ),
    );
  });
  return { ...result, kptGitProcesses: readFileSync(counter, 'utf8').length };
}

/** Child mode: runs one baseline; its stats are the last line of stdout. */
async function runBaseline(spec: BaselineSpec): Promise<void> {
  const cpu0 = process.cpuUsage();
  const children0 = childCpuSeconds();
  const start = performance.now();
  let seconds: number;
  let pushes: number;
  let kptGitProcesses: number | undefined;
  if (spec.baseline === 'floor') ({ seconds, pushes } = await floor(spec));
  else {
    ({ pushes, kptGitProcesses } =
      spec.baseline === 'naive' ? { ...(await naive(spec)), kptGitProcesses: undefined } : await kpt(spec));
    seconds = (performance.now() - start) / 1000;
  }
  const cpu = process.cpuUsage(cpu0);
  const stats: BaselineStats = {
    name: spec.baseline,
    seconds,
    gitProcesses: gitProcessStats.spawned + (kptGitProcesses ?? 0),
    byCommand: gitProcessStats.byCommand,
    ...(kptGitProcesses !== undefined ? { kptGitProcesses } : {}),
    pushes,
    jobs: spec.baseline === 'floor' ? spec.fleet.deploy.length : spec.jobs,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    cpu: { node: (cpu.user + cpu.system) / 1e6, children: childCpuSeconds() - children0 },
  };
  process.stdout.write(`\n${JSON.stringify(stats)}\n`);
}

/** Runs a baseline in a fresh Node process; `processSeconds` is from the call to its exit. */
export async function baselinePass(spec: BaselineSpec): Promise<BaselineStats> {
  mkdirSync(spec.work, { recursive: true });
  const file = join(spec.work, 'spec.json');
  writeFileSync(file, JSON.stringify(spec));
  const start = performance.now();
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [SELF, '--spec', file], { maxBuffer: 64 * 2 ** 20 }, (error, out, err) =>
      error ? reject(new Error(`baseline ${spec.baseline} failed: ${error.message}\n${err}`)) : resolve(out),
    ),
  );
  const lines = stdout.trim().split('\n');
  const stats = JSON.parse(lines[lines.length - 1]!) as BaselineStats;
  stats.processSeconds = (performance.now() - start) / 1000;
  return stats;
}

if (process.argv[1] === SELF) {
  const { values } = parseArgs({ options: { spec: { type: 'string' } } });
  runBaseline(JSON.parse(readFileSync(values.spec!, 'utf8')) as BaselineSpec).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
