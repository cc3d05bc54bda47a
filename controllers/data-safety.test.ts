// The data-safety corpus: every folder of controllers/testdata/data-safety is one case, run on real
// git repositories (see that folder's README.md for the format). A new case needs no code.
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import type { KubeObject, PackageVariant } from '../api/v1alpha1/index.ts';
import { runGit } from '../lib/git/exec.ts';
import { GitStore } from '../lib/git/store.ts';
import { IDENTITY_ENV, removeDir, tempDir } from '../lib/git/testing/repos.ts';
import { getCondition } from '../lib/kube/conditions.ts';
import { reconcileLocally, type LocalRunResult } from './local.ts';

const CORPUS = resolve(import.meta.dirname, 'testdata/data-safety');
const PVCTL = resolve(import.meta.dirname, '../bin/pvctl');

type Step =
  | { sh: string }
  | { reconcile: { manifests?: string; during?: { repo: string; sh: string }; parallel?: number } }
  | { approve: { repo: string; package: string; workspace: string } }
  | { pvctl: { args: string[]; exit?: number; stderr?: string } }
  | { expect: Expectation };

interface Expectation {
  /** A shell command that must exit 0. */
  sh?: string;
  file?: { repo: string; ref: string; path: string; contains?: string; notContains?: string; equalsFile?: string };
  refs?: { repo: string; prefix: string; equal: string[] };
  ref?: { repo: string; name: string; exists: boolean };
  /** `git ls-tree -r` of `ref:path` (mode, type and name; object ids too when `ids`) equals another tree's. */
  tree?: { repo: string; ref: string; path: string; sameAs: { repo: string; ref: string; path: string } };
  status?: {
    variant: string;
    ready?: string;
    reason?: string;
    message?: string;
    conflicts?: number;
    targets?: string[];
    error?: string;
  };
  events?: { variant: string; reasons: string[] };
}

interface Case {
  description: string;
  repos: string[];
  manifests?: string;
  steps: Step[];
}

const cases = readdirSync(CORPUS, { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(CORPUS, e.name, 'case.yaml')))
  .map((e) => e.name)
  .sort();

const roots: string[] = [];
afterAll(() => roots.forEach(removeDir));

function sh(script: string, env: Record<string, string>, cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd,
      env: { ...process.env, ...IDENTITY_ENV, ...env, GIT_CONFIG_NOSYSTEM: '1', HOME: cwd },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => done({ code: code ?? 1, output }));
  });
}

class CaseRun {
  readonly env: Record<string, string>;
  readonly dir: string;
  readonly root: string;
  readonly spec: Case;
  last?: LocalRunResult;
  private runs = 0;
  constructor(dir: string, root: string, spec: Case) {
    this.dir = dir;
    this.root = root;
    this.spec = spec;
    this.env = { CASE: dir, CORPUS, ROOT: root, PVCTL };
    for (const name of spec.repos) this.env[`REPO_${name.replaceAll('-', '_')}`] = join(root, `${name}.git`);
  }

  repo(name: string): string {
    const path = this.env[`REPO_${name.replaceAll('-', '_')}`];
    if (!path) throw new Error(`case.yaml: repository ${name} is not in repos`);
    return path;
  }

  async setUp() {
    for (const name of this.spec.repos) {
      const work = join(this.root, 'setup', name);
      mkdirSync(work, { recursive: true });
      const script = `git init -q -b main "$1" && cd "$1" && echo "${name}" > README.md && git add -A && git commit -qm initial && git init -q --bare -b main "$2" && git push -q "$2" main`;
      const { code, output } = await sh(
        `${script}`.replaceAll('"$1"', `"${work}"`).replaceAll('"$2"', `"${this.repo(name)}"`),
        this.env,
        this.root,
      );
      if (code) throw new Error(`set-up of ${name} failed: ${output}`);
    }
  }

  manifests(file = this.spec.manifests ?? 'manifests.yaml'): KubeObject[] {
    let text = readFileSync(join(this.dir, file), 'utf8');
    for (const [key, value] of Object.entries(this.env)) text = text.replaceAll(`\${${key}}`, value);
    return parseAllDocuments(text)
      .map((d) => d.toJS() as KubeObject)
      .filter(Boolean);
  }

  async reconcile(step: Extract<Step, { reconcile: unknown }>['reconcile']) {
    const objects = () => this.manifests(step.manifests);
    const cacheDir = () => join(this.root, `cache-${++this.runs}`);
    if (step.parallel) {
      const results = await Promise.all(
        Array.from({ length: step.parallel }, () => reconcileLocally(objects(), { cacheDir: cacheDir() })),
      );
      this.last = results[0];
      return;
    }
    if (!step.during) {
      this.last = await reconcileLocally(objects(), { cacheDir: cacheDir() });
      return;
    }
    // A third party pushes while the reconcile's own push is on its way: the repository's
    // pre-receive hook holds the first push until the third party's push has landed.
    const gate = join(this.root, `gate-${this.runs}`);
    const hook = join(this.repo(step.during.repo), 'hooks', 'pre-receive');
    writeFileSync(
      hook,
      `#!/bin/sh\nif mkdir "${gate}.held" 2>/dev/null; then\n  touch "${gate}.waiting"\n  i=0; while [ ! -e "${gate}.go" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\nfi\nexit 0\n`,
    );
    chmodSync(hook, 0o755);
    const running = reconcileLocally(objects(), { cacheDir: cacheDir() });
    for (let i = 0; i < 300 && !existsSync(`${gate}.waiting`); i++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(`${gate}.waiting`)) throw new Error('the reconcile never pushed');
    const third = await sh(step.during.sh, this.env, this.root);
    writeFileSync(`${gate}.go`, '');
    this.last = await running;
    if (third.code) throw new Error(`third-party push failed: ${third.output}`);
  }

  async approve(step: Extract<Step, { approve: unknown }>['approve']) {
    const store = new GitStore({ url: `file://${this.repo(step.repo)}`, cacheDir: join(this.root, 'approve-cache') });
    try {
      await store.refresh();
      const [result] = await store.batch().approve({ packageName: step.package, workspace: step.workspace }).push();
      expect(result?.status).toBe('created');
    } finally {
      store.close();
    }
  }

  async pvctl(step: Extract<Step, { pvctl: unknown }>['pvctl']) {
    const args = step.args.map((a) => a.replace(/\$\{(\w+)\}/g, (_, k: string) => this.env[k] ?? ''));
    const result = await sh(
      `"$PVCTL" ${args.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ')}`,
      this.env,
      this.root,
    );
    expect({ exit: result.code, output: result.output }).toMatchObject({ exit: step.exit ?? 0 });
    if (step.stderr) expect(result.output).toMatch(new RegExp(step.stderr));
  }

  async show(repo: string, ref: string, path: string): Promise<Buffer | undefined> {
    try {
      return (await runGit(['show', `${ref}:${path}`], { cwd: this.repo(repo), env: { GIT_DIR: this.repo(repo) } }))
        .stdout;
    } catch {
      return undefined;
    }
  }

  async lsTree(repo: string, ref: string, path: string): Promise<string> {
    const { stdout } = await runGit(['ls-tree', '-r', '--full-tree', `${ref}:${path}`], {
      cwd: this.repo(repo),
      env: { GIT_DIR: this.repo(repo) },
    });
    return stdout.toString('latin1');
  }

  variant(name: string): PackageVariant {
    const pv = this.last?.variants.find((v) => v.metadata?.name === name);
    if (!pv) throw new Error(`no reconcile result for variant ${name}`);
    return pv;
  }

  async check(e: Expectation) {
    if (e.sh) {
      const { code, output } = await sh(e.sh, this.env, this.root);
      if (code) throw new Error(`check failed (exit ${code}):\n${e.sh}\n${output}`);
    }
    if (e.file) {
      const content = await this.show(e.file.repo, e.file.ref, e.file.path);
      expect({ file: `${e.file.ref}:${e.file.path}`, exists: content !== undefined }).toEqual({
        file: `${e.file.ref}:${e.file.path}`,
        exists: true,
      });
      const text = content!.toString('latin1');
      if (e.file.contains) expect(text).toContain(e.file.contains);
      if (e.file.notContains) expect(text).not.toContain(e.file.notContains);
      if (e.file.equalsFile) expect(content!.equals(readFileSync(join(this.dir, e.file.equalsFile)))).toBe(true);
    }
    if (e.refs) {
      const { stdout } = await runGit(['for-each-ref', '--format=%(refname)', e.refs.prefix], {
        cwd: this.repo(e.refs.repo),
        env: { GIT_DIR: this.repo(e.refs.repo) },
      });
      expect(stdout.toString().split('\n').filter(Boolean).sort()).toEqual([...e.refs.equal].sort());
    }
    if (e.ref) {
      const { stdout } = await runGit(['for-each-ref', '--format=%(refname)', e.ref.name], {
        cwd: this.repo(e.ref.repo),
        env: { GIT_DIR: this.repo(e.ref.repo) },
      });
      expect({ ref: e.ref.name, exists: stdout.toString().trim() === e.ref.name }).toEqual({
        ref: e.ref.name,
        exists: e.ref.exists,
      });
    }
    if (e.tree) {
      const actual = await this.lsTree(e.tree.repo, e.tree.ref, e.tree.path);
      const wanted = await this.lsTree(e.tree.sameAs.repo, e.tree.sameAs.ref, e.tree.sameAs.path);
      expect(actual).toBe(wanted);
    }
    if (e.status) {
      const s = e.status;
      const pv = this.variant(s.variant);
      const ready = getCondition(pv.status?.conditions, 'Ready');
      if (s.ready) expect(ready?.status).toBe(s.ready);
      if (s.reason) expect(ready?.reason).toBe(s.reason);
      if (s.message) expect(ready?.message ?? '').toMatch(new RegExp(s.message));
      const targets = pv.status?.downstreamTargets ?? [];
      if (s.conflicts !== undefined) expect(targets[0]?.conflicts?.length ?? 0).toBe(s.conflicts);
      if (s.targets) expect(targets.map((t) => t.name)).toEqual(s.targets);
      const key = `${pv.metadata?.namespace ?? 'default'}/${s.variant}`;
      if (s.error) expect(this.last?.errors.get(key) ?? '').toMatch(new RegExp(s.error));
    }
    if (e.events) {
      const reasons = (this.last?.store.events ?? [])
        .filter((ev) => ev.name === e.events!.variant)
        .map((ev) => ev.reason);
      for (const reason of e.events.reasons) expect(reasons).toContain(reason);
    }
  }
}

describe('data-safety corpus (real git)', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThanOrEqual(10));

  for (const name of cases) {
    const dir = join(CORPUS, name);
    const spec = parse(readFileSync(join(dir, 'case.yaml'), 'utf8')) as Case;
    it(`${name}: ${spec.description}`, async () => {
      const root = tempDir(`pv-safety-${name}-`);
      roots.push(root);
      const run = new CaseRun(dir, root, spec);
      await run.setUp();
      for (const [i, step] of spec.steps.entries()) {
        try {
          if ('sh' in step) {
            const { code, output } = await sh(step.sh, run.env, root);
            if (code) throw new Error(`script failed (${code}): ${output}`);
          } else if ('reconcile' in step) await run.reconcile(step.reconcile ?? {});
          else if ('approve' in step) await run.approve(step.approve);
          else if ('pvctl' in step) await run.pvctl(step.pvctl);
          else if ('expect' in step) await run.check(step.expect);
          else throw new Error(`unknown step ${JSON.stringify(step)}`);
        } catch (error) {
          if (error instanceof Error) error.message = `step ${i + 1} (${Object.keys(step)[0]}): ${error.message}`;
          throw error;
        }
      }
    }, 120_000);
  }
});
