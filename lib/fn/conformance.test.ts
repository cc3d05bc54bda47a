// Conformance: the catalog's own test and example packages (testdata/catalog/<fn>/<case>) and kpt's
// `fn render` e2e packages (testdata/kpt-render/<case>), transcribed with their expected output
// (the input with the case's diff.patch applied), results and exit code. Cases a README in the
// folder lists are expected to differ (the README says why); the test checks they still do.
import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { readPackageDir, type PackageFiles } from '../kpt/package.ts';
import { BUILTINS } from './builtins/index.ts';
import { evalFunction, renderPackage, type RenderOutcome } from './render.ts';
import { stopWasmRuntime, wasmAnswers } from './runtimes/wasm.ts';

afterAll(() => stopWasmRuntime());

const TESTDATA = new URL('./testdata/', import.meta.url).pathname;

interface CaseConfig {
  testType?: 'eval' | 'render';
  image?: string;
  args?: Record<string, string>;
  argsFromFiles?: Record<string, string>;
  fnConfig?: string;
  exitCode?: number;
  allowExec?: boolean;
}

function yamlFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  return (parseAllDocuments(readFileSync(path, 'utf8'))[0]?.toJS() ?? {}) as Record<string, unknown>;
}

/** Comments of a YAML text, sorted (their order follows key order, which kpt may change). */
function comments(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /(?:^|\s)#(.*)$/.exec(l)?.[1]?.trim())
    .filter((c): c is string => c !== undefined)
    .sort();
}

/**
 * A root Kptfile's render status without its free texts: error messages are ours, not kpt's
 * (`status.conditions[].message`, `renderStatus.errorSummary`, steps' `executionError`).
 */
function withoutErrorTexts(doc: unknown): unknown {
  const status = (
    doc as { status?: { conditions?: Record<string, unknown>[]; renderStatus?: Record<string, unknown> } }
  )?.status;
  if (!status) return doc;
  for (const c of status.conditions ?? []) delete c.message;
  const rs = status.renderStatus;
  if (rs) {
    delete rs.errorSummary;
    for (const step of [
      ...((rs.mutationSteps as Record<string, unknown>[]) ?? []),
      ...((rs.validationSteps as Record<string, unknown>[]) ?? []),
    ]) {
      delete step.executionError;
    }
  }
  return doc;
}

/**
 * Files equal byte for byte, or as YAML: the same documents (values, key order aside) and comments.
 * kpt rewrites a Kptfile whose status it sets from its Go struct, dropping its comments: Kptfiles
 * are compared without comments and error texts.
 */
export function sameFile(path: string, expected: Buffer, actual: Buffer): 'bytes' | 'yaml' | false {
  if (expected.equals(actual)) return 'bytes';
  if (!/\.ya?ml$|(^|\/)Kptfile$/.test(path)) return false;
  const kptfile = /(^|\/)Kptfile$/.test(path);
  try {
    const parse = (b: Buffer) =>
      parseAllDocuments(b.toString())
        .map((d) => d.toJS())
        .filter((d) => d !== null)
        .map((d) => (kptfile ? withoutErrorTexts(d) : d));
    if (!isDeepStrictEqual(parse(expected), parse(actual))) return false;
    return kptfile || isDeepStrictEqual(comments(expected.toString()), comments(actual.toString())) ? 'yaml' : false;
  } catch {
    return false;
  }
}

function treeDifferences(expected: PackageFiles, actual: PackageFiles): string[] {
  const problems: string[] = [];
  for (const path of new Set([...expected.keys(), ...actual.keys()])) {
    const e = expected.get(path);
    const a = actual.get(path);
    if (!e) problems.push(`unexpected file ${path}:\n${a}`);
    else if (!a) problems.push(`missing file ${path}`);
    else if (!sameFile(path, e, a)) problems.push(`${path} differs:\n--- expected\n${e}\n--- actual\n${a}`);
  }
  return problems;
}

/** The README's list of cases that are expected to differ: lines "- `case`: reason". */
function knownDifferences(dir: string): Map<string, string> {
  const readme = `${dir}/README.md`;
  const out = new Map<string, string>();
  if (!existsSync(readme)) return out;
  for (const m of readFileSync(readme, 'utf8').matchAll(/^- `([^`]+)`: (.+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

function normalizeResults(list: unknown): unknown {
  const items = ((list as { items?: unknown[] })?.items ?? []) as Record<string, unknown>[];
  return items.map((i) => ({ ...i, ...(i.results ? { results: i.results } : {}) }));
}

async function runCase(dir: string): Promise<string[]> {
  const { out, expected, config } = await renderCase(dir);
  const problems: string[] = [];
  const exitCode = out.error === undefined ? 0 : 1;
  if (exitCode !== (config.exitCode ?? 0))
    problems.push(`exit code ${exitCode}, expected ${config.exitCode ?? 0} (${out.error ?? 'no error'})`);
  if (existsSync(`${dir}/results.yaml`)) {
    const want = normalizeResults(yamlFile(`${dir}/results.yaml`));
    const got = normalizeResults(JSON.parse(JSON.stringify(out.results)));
    if (!isDeepStrictEqual(want, got))
      problems.push(`results differ:\n${JSON.stringify(want, null, 1)}\n--- actual\n${JSON.stringify(got, null, 1)}`);
  }
  // a failed render leaves the files as they were (kpt writes nothing but the Kptfile's status)
  problems.push(...treeDifferences(expected, out.files));
  return problems;
}

async function renderCase(dir: string): Promise<{ out: RenderOutcome; expected: PackageFiles; config: CaseConfig }> {
  const config = { ...yamlFile(`${dir}/config.yaml`), ...yamlFile(`${dir}/case.yaml`) } as CaseConfig;
  const input = readPackageDir(`${dir}/input`);
  const expected = readPackageDir(`${dir}/expected`);
  const kptRender = dir.includes('/kpt-render/');
  const options = {
    timeoutMs: 30_000,
    writeRenderStatus: kptRender,
    ...(config.allowExec ? { allowExec: ['sed'] } : {}),
  };
  let out: RenderOutcome;
  if (config.testType === 'eval') {
    const args = { ...(config.args ?? {}) };
    for (const [k, file] of Object.entries(config.argsFromFiles ?? {}))
      args[k] = input.get(file)!.toString().replace(/\n$/, '');
    out = await evalFunction(
      input,
      { image: config.image!, ...(Object.keys(args).length ? { configMap: args } : {}) },
      { ...options, ...(config.fnConfig ? { fnConfigPath: config.fnConfig } : {}) },
    );
  } else {
    out = await renderPackage(input, options);
  }
  return { out, expected, config };
}

function caseDirs(root: string): string[] {
  const cases: string[] = [];
  const walk = (dir: string, name: string) => {
    if (existsSync(`${dir}/input`)) cases.push(name);
    else
      for (const e of readdirSync(dir, { withFileTypes: true }))
        if (e.isDirectory()) walk(`${dir}/${e.name}`, name ? `${name}/${e.name}` : e.name);
  };
  walk(root, '');
  return cases.sort();
}

// The WebAssembly built-ins answer with edits of the items they changed in a few places; every
// catalog case must render to the same bytes and results as with whole items.
describe('WebAssembly answers as edits', () => {
  const WASM = BUILTINS.filter((b) => b.runtime === 'wasm').map((b) => b.name);
  it('render every case of the WebAssembly functions as whole items do', async () => {
    const root = `${TESTDATA}catalog`;
    const cases = caseDirs(root).filter((c) => WASM.includes(c.split('/')[0]!));
    const editedBefore = wasmAnswers.editedItems;
    const differing: string[] = [];
    for (const name of cases) {
      const edits = (await renderCase(`${root}/${name}`)).out;
      wasmAnswers.wholeItems = true;
      const whole = await renderCase(`${root}/${name}`).finally(() => (wasmAnswers.wholeItems = false));
      const sameFiles =
        edits.files.size === whole.out.files.size &&
        [...edits.files].every(([path, content]) => whole.out.files.get(path)?.equals(content));
      if (!sameFiles || !isDeepStrictEqual(edits.results, whole.out.results) || edits.error !== whole.out.error)
        differing.push(name);
    }
    expect(cases.length).toBeGreaterThan(30);
    expect(differing).toEqual([]);
    expect(wasmAnswers.editedItems - editedBefore).toBeGreaterThan(20); // the edits were used
  }, 120_000);
});

for (const suite of ['catalog', 'kpt-render']) {
  const root = `${TESTDATA}${suite}`;
  const known = knownDifferences(root);
  describe(suite, () => {
    for (const name of caseDirs(root)) {
      const reason = known.get(name);
      it(
        reason ? `${name} (listed: ${reason})` : name,
        async () => {
          const problems = await runCase(`${root}/${name}`);
          const debug = process.env.CONFORMANCE_DEBUG; // CONFORMANCE_DEBUG=<case> writes what differs to stderr
          if (debug && name.includes(debug)) writeFileSync('/dev/stderr', `${name}:\n${problems.join('\n')}\n`);
          if (reason)
            expect(problems.length).toBeGreaterThan(0); // passes now? remove it from the README
          else expect(problems).toEqual([]);
        },
        60_000,
      );
    }
  });
}
