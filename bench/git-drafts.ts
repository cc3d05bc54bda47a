// Benchmark: 1,000 drafts across 10 downstream repositories, written by the GitStore (batched:
// cat-file reads, one fast-import and one atomic push per repository) and naively (clone + commit +
// push per draft) in the same run, on identical copies of the same repositories.
//
//   node bench/git-drafts.ts [--repos 10] [--drafts-per-repo 100] [--files 20] [--naive-drafts N]
//
// --naive-drafts limits the naive run (default 100: a clone per draft is slow); its rate is measured
// on those drafts, never extrapolated into a total.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchArgs } from './lib/args.ts';
import { gitProcessStats, runGit } from '../lib/git/exec.ts';
import { GitStore } from '../lib/git/store.ts';
import { removeDir, tempDir } from '../lib/git/testing/repos.ts';
import { writeCommits } from '../lib/git/writer.ts';

const { values } = benchArgs(import.meta.url, {
  repos: { type: 'string', default: '10' },
  'drafts-per-repo': { type: 'string', default: '100' },
  files: { type: 'string', default: '20' },
  'naive-drafts': { type: 'string' },
});
const REPOS = Number(values.repos);
const PER_REPO = Number(values['drafts-per-repo']);
const FILES = Number(values.files);
const TOTAL = REPOS * PER_REPO;
const NAIVE = Math.min(TOTAL, Number(values['naive-drafts'] ?? 100));
const IDENTITY = { name: 'bench', email: 'bench@example.com' };
const ENV = {
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
};

function packageFiles(name: string, version: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>([
    ['Kptfile', Buffer.from(`apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: ${name}\n`)],
  ]);
  for (let i = 1; i < FILES; i++) {
    files.set(
      `resources/cm-${i}.yaml`,
      Buffer.from(
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}-${i}\n  namespace: ${name}\ndata:\n  version: ${i === 1 ? version : 'v1'}\n  payload: ${'x'.repeat(200)}\n`,
      ),
    );
  }
  return files;
}

/** A downstream repository: main holds one package per target cluster. */
async function createDownstream(path: string): Promise<void> {
  await runGit(['init', '-q', '--bare', '--initial-branch=main', path]);
  const [commit] = await writeCommits(path, [
    {
      parents: [],
      changes: Array.from({ length: PER_REPO }, (_, i) => ({
        kind: 'files' as const,
        path: `clusters/c${i}`,
        files: packageFiles(`c${i}`, 'v1'),
      })),
      message: 'initial\n',
      author: IDENTITY,
      committer: IDENTITY,
    },
  ]);
  await runGit(['update-ref', 'refs/heads/main', commit!], { env: { GIT_DIR: path } });
}

function rssMiB(): number {
  return Math.round(process.memoryUsage().rss / 2 ** 20);
}

async function batched(root: string): Promise<{ seconds: number; spawned: number; created: number }> {
  const before = gitProcessStats.spawned;
  const start = performance.now();
  let created = 0;
  for (let r = 0; r < REPOS; r++) {
    const store = new GitStore({
      url: `file://${join(root, `down-${r}.git`)}`,
      cacheDir: join(root, 'cache'),
      directory: 'clusters',
    });
    await store.refresh();
    const names = Array.from({ length: PER_REPO }, (_, i) => `c${i}`);
    const current = await store.readPackages(names.map((packageName) => ({ packageName, ref: 'main' })));
    const batch = store.batch();
    names.forEach((packageName, i) => {
      const files = new Map(current[i]);
      files.set('resources/cm-1.yaml', packageFiles(packageName, 'v2').get('resources/cm-1.yaml')!);
      batch.createDraft({
        packageName,
        workspace: 'packagevariant-1',
        files,
        task: { type: 'upgrade' },
        owner: { namespace: 'fleet', name: `pv-${r}-${i}`, uid: `uid-${r}-${i}` },
      });
    });
    const results = await batch.push();
    created += results.filter((x) => x.status === 'created').length;
    store.close();
  }
  return { seconds: (performance.now() - start) / 1000, spawned: gitProcessStats.spawned - before, created };
}

async function naive(root: string): Promise<{ seconds: number; spawned: number; created: number }> {
  const before = gitProcessStats.spawned;
  const start = performance.now();
  let created = 0;
  for (let n = 0; n < NAIVE; n++) {
    const r = n % REPOS;
    const i = Math.floor(n / REPOS);
    const work = join(root, 'work', `${n}`);
    await runGit(['clone', '-q', '--end-of-options', `file://${join(root, `down-${r}.git`)}`, work], { env: ENV });
    const branch = `drafts/clusters/c${i}/packagevariant-1`;
    await runGit(['checkout', '-q', '-b', branch], { cwd: work, env: ENV });
    writeFileSync(
      join(work, `clusters/c${i}/resources/cm-1.yaml`),
      packageFiles(`c${i}`, 'v2').get('resources/cm-1.yaml')!,
    );
    await runGit(['add', '-A'], { cwd: work, env: ENV });
    await runGit(['commit', '-q', '-m', `Upgrading revision\n\n\nkpt:{"package":"clusters/c${i}"}`], {
      cwd: work,
      env: ENV,
    });
    await runGit(['push', '-q', 'origin', branch], { cwd: work, env: ENV });
    removeDir(work);
    created++;
  }
  return { seconds: (performance.now() - start) / 1000, spawned: gitProcessStats.spawned - before, created };
}

/** A kinder baseline: one clone per repository, then checkout + add + commit + push per draft. */
async function worktree(root: string): Promise<{ seconds: number; spawned: number; created: number }> {
  const before = gitProcessStats.spawned;
  const start = performance.now();
  let created = 0;
  const clones = new Set<number>();
  for (let n = 0; n < NAIVE; n++) {
    const r = n % REPOS;
    const i = Math.floor(n / REPOS);
    const work = join(root, 'work', `${r}`);
    if (!clones.has(r)) {
      await runGit(['clone', '-q', '--end-of-options', `file://${join(root, `down-${r}.git`)}`, work], { env: ENV });
      clones.add(r);
    }
    const branch = `drafts/clusters/c${i}/packagevariant-1`;
    await runGit(['checkout', '-q', '-B', branch, 'origin/main'], { cwd: work, env: ENV });
    writeFileSync(
      join(work, `clusters/c${i}/resources/cm-1.yaml`),
      packageFiles(`c${i}`, 'v2').get('resources/cm-1.yaml')!,
    );
    await runGit(['add', '-A'], { cwd: work, env: ENV });
    await runGit(['commit', '-q', '-m', `Upgrading revision\n\n\nkpt:{"package":"clusters/c${i}"}`], {
      cwd: work,
      env: ENV,
    });
    await runGit(['push', '-q', 'origin', branch], { cwd: work, env: ENV });
    created++;
  }
  return { seconds: (performance.now() - start) / 1000, spawned: gitProcessStats.spawned - before, created };
}

async function main(): Promise<void> {
  const root = tempDir('pv-bench-git-');
  try {
    console.log(
      `setup: ${REPOS} repositories × ${PER_REPO} packages × ${FILES} files (git ${(await runGit(['--version'])).stdout.toString().trim()}, node ${process.version})`,
    );
    const template = join(root, 'template.git');
    await createDownstream(template);
    for (const set of ['batched', 'naive', 'worktree']) {
      mkdirSync(join(root, set), { recursive: true });
      for (let r = 0; r < REPOS; r++) cpSync(template, join(root, set, `down-${r}.git`), { recursive: true });
    }
    const b = await batched(join(root, 'batched'));
    const bRate = b.created / b.seconds;
    console.log(
      `batched (GitStore): ${b.created} drafts in ${b.seconds.toFixed(2)} s = ${bRate.toFixed(0)} drafts/s; ` +
        `${b.spawned} git processes (${(b.spawned / b.created).toFixed(3)} per draft); rss ${rssMiB()} MiB`,
    );
    if (NAIVE < TOTAL)
      console.log(`naive run limited to ${NAIVE} of ${TOTAL} drafts (--naive-drafts ${TOTAL} for all)`);
    const n = await naive(join(root, 'naive'));
    const nRate = n.created / n.seconds;
    console.log(
      `naive (clone+commit+push per draft): ${n.created} drafts in ${n.seconds.toFixed(2)} s = ${nRate.toFixed(1)} drafts/s; ` +
        `${n.spawned} git processes (${(n.spawned / n.created).toFixed(1)} per draft)`,
    );
    const w = await worktree(join(root, 'worktree'));
    const wRate = w.created / w.seconds;
    console.log(
      `one clone per repository, then checkout+add+commit+push per draft: ${w.created} drafts in ${w.seconds.toFixed(2)} s = ${wRate.toFixed(1)} drafts/s; ` +
        `${w.spawned} git processes (${(w.spawned / w.created).toFixed(1)} per draft)`,
    );
    const perDraft = (x: { spawned: number; created: number }) => x.spawned / x.created;
    console.log(
      `GitStore vs naive: ${(bRate / nRate).toFixed(0)}× drafts/s, ${(perDraft(n) / perDraft(b)).toFixed(0)}× fewer processes per draft; ` +
        `vs clone per repository: ${(bRate / wRate).toFixed(0)}× drafts/s, ${(perDraft(w) / perDraft(b)).toFixed(0)}× fewer processes per draft`,
    );
    const check = await runGit(['for-each-ref', '--count=1000000', '--format=%(refname)', 'refs/heads/drafts'], {
      env: { GIT_DIR: join(root, 'batched', 'down-0.git') },
    });
    console.log(`check: down-0 has ${check.stdout.toString().trim().split('\n').length} draft branches`);
  } finally {
    removeDir(root);
  }
}

await main();
