// The bad-input corpus: every folder of cli/testdata/bad-input/ is one hostile input, run through
// the real `pvctl` in a child process against real bare git repositories, and checked against its
// case.yaml (exit code, error text, what git and the file system must and must not hold). Each run
// is classified as ok, clean error, crash or hang; the counts are printed at the end. The format is
// in cli/testdata/bad-input/README.md: a new case is a new folder, no code.
//
// BAD_INPUT_PVCTL=<path to another checkout's cli/pvctl.ts> runs the corpus against that build
// (to count what an older version does); BAD_INPUT_ONLY=<regex> runs only the matching cases;
// BAD_INPUT_REPORT=<file> writes the classification of every case as JSON.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { runGit } from '../lib/git/exec.ts';
import { createRepo, removeDir, tempDir } from '../lib/git/testing/repos.ts';

const CORPUS = join(import.meta.dirname, 'testdata', 'bad-input');
const PVCTL = process.env.BAD_INPUT_PVCTL ?? join(import.meta.dirname, 'pvctl.ts');
const PARALLEL = 2;

interface RepoSpec {
  /** Published packages: name → number of revisions (committed on main, tagged `<name>/v<N>`). */
  packages?: Record<string, number>;
  /** Files committed on main before the packages: path → content. */
  files?: Record<string, string>;
}

interface Expectations {
  present?: string[];
  absent?: string[];
}

interface Case {
  description: string;
  command: string[];
  fixture?: string;
  exit: number;
  error?: string;
  stdout?: string;
  notOutput?: string[];
  pushed?: boolean;
  refs?: Record<string, Expectations>;
  files?: Expectations;
  timeout?: number;
  env?: Record<string, string>;
}

type Verdict = 'ok' | 'clean error' | 'crash' | 'hang';

interface Run {
  name: string;
  spec: Case;
  work: string;
  code: number | null;
  signal: string | null;
  output: string;
  verdict: Verdict;
  refsBefore: Map<string, string>;
  refsAfter: Map<string, string>;
  repos: Record<string, string>;
  seconds: number;
}

/** What only a bug prints: a stack frame, an internal error, a runtime out of stack or memory. */
const CRASH_MARKERS = [
  /\n\s+at .+:\d+:\d+\)?$/m,
  /internal error/,
  /Maximum call stack size exceeded/,
  /heap out of memory/,
  /Cannot (read|set|create) propert/,
  /is not (a function|iterable)/,
];

function classify(code: number | null, signal: string | null, timedOut: boolean, output: string): Verdict {
  if (timedOut) return 'hang';
  if (signal || code === 70 || CRASH_MARKERS.some((m) => m.test(output))) return 'crash';
  return code === 0 ? 'ok' : 'clean error';
}

const caseNames = readdirSync(CORPUS)
  .filter((name) => !name.startsWith('_') && existsSync(join(CORPUS, name, 'case.yaml')))
  .filter((name) => !process.env.BAD_INPUT_ONLY || new RegExp(process.env.BAD_INPUT_ONLY).test(name))
  .sort();

const readYaml = <T>(path: string): T => parse(readFileSync(path, 'utf8')) as T;

/** Bare repositories from a repos.yaml, as a person would make them with git. */
async function makeRepos(work: string, specs: Record<string, RepoSpec | null>): Promise<Record<string, string>> {
  const urls: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const { bare, work: clone } = await createRepo(join(work, 'repos'), name);
    clone.write('README.md', `${name}\n`);
    for (const [path, content] of Object.entries(spec?.files ?? {})) clone.write(path, content);
    await clone.commitAll('initial');
    const tags: string[] = [];
    for (const [pkg, revisions] of Object.entries(spec?.packages ?? {})) {
      for (let n = 1; n <= revisions; n++) {
        clone.write(`${pkg}/Kptfile`, `apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: ${pkg}\n`);
        clone.write(
          `${pkg}/config.yaml`,
          `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${pkg}\ndata:\n  revision: "${n}"\n`,
        );
        await clone.commitAll(`${pkg} v${n}`);
        await clone.git('tag', `${pkg}/v${n}`);
        tags.push(`${pkg}/v${n}`);
      }
    }
    await clone.git('push', '-q', 'origin', 'main', ...tags);
    urls[name] = `file://${bare}`;
  }
  return urls;
}

async function refsOf(repos: Record<string, string>): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  for (const [name, url] of Object.entries(repos)) {
    const out = await runGit([
      '--git-dir',
      url.slice('file://'.length),
      'for-each-ref',
      '--format=%(refname) %(objectname)',
    ]);
    for (const line of out.stdout.toString().split('\n').filter(Boolean)) {
      const [ref, sha] = line.split(' ');
      refs.set(`${name} ${ref}`, sha!);
    }
  }
  return refs;
}

/** `{{repo:NAME}}` → the repository's URL, `{{work}}` → the work directory. */
function substitute(text: string, work: string, repos: Record<string, string>): string {
  return text
    .replace(/\{\{repo:([a-z0-9-]+)\}\}/g, (_, name: string) => repos[name] ?? `{{unknown repo ${name}}}`)
    .replaceAll('{{work}}', work);
}

/** Copies a folder into the work directory, substituting in UTF-8 text files (others byte for byte). */
function copyInto(from: string, work: string, repos: Record<string, string>): void {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const entry of readdirSync(from, { recursive: true, encoding: 'utf8' })) {
    if (entry === 'case.yaml' || entry === 'repos.yaml' || entry === 'setup.sh') continue;
    const source = join(from, entry);
    const target = join(work, entry);
    if (lstatSync(source).isDirectory()) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    const bytes = readFileSync(source);
    let text: string | undefined;
    try {
      text = decoder.decode(bytes);
    } catch {
      text = undefined;
    }
    if (text?.includes('{{')) writeFileSync(target, substitute(text, work, repos));
    else cpSync(source, target);
  }
}

function spawnCollect(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ code: number | null; signal: string | null; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true });
    const chunks: Buffer[] = [];
    let size = 0;
    const keep = (chunk: Buffer) => {
      // A run that floods its output is cut off here (and judged by what came first).
      if (size < 4 * 1024 * 1024) chunks.push(chunk);
      size += chunk.length;
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal: timedOut ? null : signal, output: Buffer.concat(chunks).toString('utf8'), timedOut });
    });
  });
}

async function runCase(name: string, root: string): Promise<Run> {
  const dir = join(CORPUS, name);
  const spec = readYaml<Case>(join(dir, 'case.yaml'));
  const work = join(root, name);
  mkdirSync(join(work, 'home'), { recursive: true });
  const fixture = spec.fixture ? join(CORPUS, '_fixtures', spec.fixture) : undefined;
  const repoSpecs = {
    ...(fixture && existsSync(join(fixture, 'repos.yaml'))
      ? readYaml<Record<string, RepoSpec>>(join(fixture, 'repos.yaml'))
      : {}),
    ...(existsSync(join(dir, 'repos.yaml')) ? readYaml<Record<string, RepoSpec>>(join(dir, 'repos.yaml')) : {}),
  };
  const repos = await makeRepos(work, repoSpecs);
  if (fixture) copyInto(fixture, work, repos);
  copyInto(dir, work, repos);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: join(work, 'home'),
    XDG_CACHE_HOME: join(work, 'cache'),
    NODE_COMPILE_CACHE: join(tmpdir(), 'pvctl-bad-input-compile-cache'),
    WORK: work,
    CASE: dir,
    ...Object.fromEntries(
      Object.entries(repos).map(([repo, url]) => [`REPO_${repo.toUpperCase().replace(/-/g, '_')}`, url]),
    ),
    ...spec.env,
  };
  if (existsSync(join(dir, 'setup.sh'))) {
    const setup = await spawnCollect('bash', [join(dir, 'setup.sh')], { cwd: work, env, timeoutMs: 60_000 });
    if (setup.code !== 0) throw new Error(`${name}/setup.sh failed (${setup.code}): ${setup.output}`);
  }
  const refsBefore = await refsOf(repos);
  const started = performance.now();
  const args = spec.command.map((arg) => substitute(arg, work, repos));
  const result = await spawnCollect(process.execPath, [PVCTL, ...args], {
    cwd: work,
    env,
    timeoutMs: (spec.timeout ?? 60) * 1000,
  });
  return {
    name,
    spec,
    work,
    repos,
    code: result.code,
    signal: result.signal,
    output: result.output,
    verdict: classify(result.code, result.signal, result.timedOut, result.output),
    refsBefore,
    refsAfter: await refsOf(repos),
    seconds: (performance.now() - started) / 1000,
  };
}

let root: string;
const runs = new Map<string, Run | Error>();

beforeAll(async () => {
  root = tempDir('pvctl-bad-input-');
  const queue = [...caseNames];
  const worker = async () => {
    for (let name = queue.shift(); name; name = queue.shift()) {
      try {
        runs.set(name, await runCase(name, root));
      } catch (error) {
        runs.set(name, error as Error);
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}, 30 * 60_000);

afterAll(() => {
  const done = [...runs.values()].filter((r): r is Run => !(r instanceof Error));
  const count = (verdict: Verdict) => done.filter((r) => r.verdict === verdict).length;
  const summary = {
    tried: done.length,
    ok: count('ok'),
    cleanError: count('clean error'),
    crash: count('crash'),
    hang: count('hang'),
  };
  process.stdout.write(
    `bad-input corpus: ${summary.tried} tried, ${summary.cleanError} clean error, ${summary.ok} accepted (exit 0), ` +
      `${summary.crash} crash, ${summary.hang} hang\n` +
      done
        .filter((r) => r.verdict === 'crash' || r.verdict === 'hang')
        .map((r) => `  ${r.verdict}: ${r.name}\n`)
        .join(''),
  );
  if (process.env.BAD_INPUT_REPORT) {
    const cases = Object.fromEntries(
      done.map((r) => [r.name, { verdict: r.verdict, exit: r.code, seconds: r.seconds }]),
    );
    writeFileSync(process.env.BAD_INPUT_REPORT, JSON.stringify({ summary, cases }, null, 2));
  }
  if (root) removeDir(root);
});

describe('bad-input corpus', () => {
  it('has cases', () => {
    expect(caseNames.length).toBeGreaterThan(0);
  });

  it.each(caseNames)('%s', (name) => {
    const run = runs.get(name);
    if (run instanceof Error) throw run;
    if (!run) throw new Error(`${name} did not run`);
    const { spec, output } = run;
    const context = `${name}: ${spec.description}\n--- output (exit ${run.code}, ${run.verdict}) ---\n${output}`;
    const check = (ok: boolean, what: string) => {
      if (!ok) throw new Error(`${what}\n${context}`);
    };
    check(run.verdict !== 'hang', `no answer within ${spec.timeout ?? 60}s`);
    check(run.verdict !== 'crash', 'crashed');
    check(run.code === spec.exit, `exit code ${run.code}, expected ${spec.exit}`);
    // `.` matches newlines, `^` and `$` match at every line.
    const matches = (pattern: string) => new RegExp(pattern, 'ms').test(output);
    if (spec.error) check(matches(spec.error), `output does not match /${spec.error}/`);
    if (spec.stdout) check(matches(spec.stdout), `output does not match /${spec.stdout}/`);
    for (const pattern of spec.notOutput ?? []) check(!matches(pattern), `output matches /${pattern}/`);
    const changed = [...new Set([...run.refsBefore.keys(), ...run.refsAfter.keys()])].filter(
      (ref) => run.refsBefore.get(ref) !== run.refsAfter.get(ref),
    );
    if (spec.pushed !== undefined) {
      check(
        spec.pushed === changed.length > 0,
        `pushed: ${changed.length > 0} (${changed.join(', ')}), expected ${spec.pushed}`,
      );
    }
    for (const [repo, { present = [], absent = [] }] of Object.entries(spec.refs ?? {})) {
      const refs = [...run.refsAfter.keys()]
        .filter((r) => r.startsWith(`${repo} `))
        .map((r) => r.slice(repo.length + 1));
      for (const prefix of present)
        check(
          refs.some((r) => r.startsWith(prefix)),
          `${repo}: no ref ${prefix}* in ${refs.join(', ')}`,
        );
      for (const prefix of absent) check(!refs.some((r) => r.startsWith(prefix)), `${repo}: ref ${prefix}* exists`);
    }
    const listed = (path: string) => existsSync(join(run.work, path));
    for (const path of spec.files?.present ?? []) check(listed(path), `${path} was not written`);
    for (const path of spec.files?.absent ?? [])
      check(!listed(path), `${path} was written (${relative(root, run.work)})`);
  });
});
