// renderPackage: the Kptfile pipelines of a package and its subpackages, as `kpt fn render` runs
// them (pkg/lib/kptops/render_executor.go): subpackages depth-first, then the package, whose
// functions see its own resources and every subpackage's; mutators in order, then validators (on
// copies); function config from `configMap` or `configPath`; `selectors` / `exclude`. Pure with
// respect to I/O, except the function runtimes (lib/fn/runtimes). Never throws: a failure comes back
// as `error` with the results gathered so far, and the input files.
import PQueue from 'p-queue';
import { isUtf8 } from 'node:buffer';
import { posix } from 'node:path';
import { Document, YAMLMap, isMap } from 'yaml';
import { KPTFILE, readKptfile, type KptfileView, type PackageFiles } from '../kpt/index.ts';
import { isKrmFile } from '../kpt/resources.ts';
import { cloneNode, fingerprint, joinDocuments, parseDocuments, setField, YamlSyntaxError } from '../kpt/yaml.ts';
import { contentKey } from '../kpt/parse-handoff.ts';
import { isShared, parsedFile } from './parsed-files.ts';
import { apiVersionOf, kindOf, nameOf, stringScalar } from './krm.ts';
import { isIgnored, parseKrmignore, type Ignore } from './krmignore.ts';
import { annotateForCall, collectOutput, FunctionContractError, type Item } from './resourcelist.ts';
import { resolveRunner, type RunnerOptions } from './runners.ts';
import { select } from './select.ts';
import { writeRenderStatus, type StepResult } from './status.ts';
import {
  newResultList,
  type FunctionOutput,
  type FunctionResult,
  type FunctionSpec,
  type ResultList,
} from './types.ts';

export interface RenderOptions extends RunnerOptions {
  /** Write kpt's `status.conditions[Rendered]` and `status.renderStatus` into the root Kptfile (kpt ≥ 1.0 does; default false). */
  writeRenderStatus?: boolean;
}

export interface RenderOutcome {
  /** The rendered package; on failure, the input files (with the render status in the Kptfile when asked for). */
  files: PackageFiles;
  /** Every function run, in order, as kpt's FunctionResultList. */
  results: ResultList;
  /** Why the render failed (the failing function and its reason); absent on success. */
  error?: string;
  /** The function that failed (its image or exec path), when a function's step failed. */
  failedFunction?: string;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

class RenderError extends Error {
  /** kpt rejects such a package before rendering and writes no render status (an invalid Kptfile). */
  readonly invalidPackage: boolean;
  /** The function whose step failed (image or exec path), also when it never ran (not allowed, no runtime). */
  failedFunction?: string;
  constructor(message: string, invalidPackage = false) {
    super(message);
    this.invalidPackage = invalidPackage;
  }
}

const NEW_STYLE = { indent: 2, lineWidth: 0, minContentWidth: 0, flowCollectionPadding: false };

interface Pkg {
  dir: string;
  kptfile?: KptfileView;
  items: Item[];
  ignore: Ignore;
}

interface Run {
  options: RenderOptions;
  results: ResultList;
  mutationSteps: StepResult[];
  validationSteps: StepResult[];
  pkgs: Map<string, Pkg>;
}

const join = (dir: string, path: string) => (dir ? `${dir}/${path}` : path);
const dirOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

// At most two renders at a time in a process: one on this thread while the other waits for a
// function (the WebAssembly worker, a process). A fleet upgrade starts hundreds at once; more would
// not go faster, only hold more parsed packages in memory.
const renders = new PQueue({ concurrency: 2 });

export function renderPackage(files: PackageFiles, options: RenderOptions = {}): Promise<RenderOutcome> {
  return renders.add(() => render(files, options)) as Promise<RenderOutcome>;
}

async function render(files: PackageFiles, options: RenderOptions): Promise<RenderOutcome> {
  const run: Run = { options, results: newResultList(), mutationSteps: [], validationSteps: [], pkgs: new Map() };
  let error: string | undefined;
  let failedFunction: string | undefined;
  let out: PackageFiles;
  try {
    run.pkgs = loadPackages(files);
    const items = await hydrate(run, '');
    out = writeBack(files, run.pkgs, items);
  } catch (e) {
    error =
      e instanceof RenderError || e instanceof FunctionContractError
        ? e.message
        : `internal error: ${(e as Error).stack ?? e}`;
    if (e instanceof RenderError) failedFunction = e.failedFunction;
    run.results.exitCode = 1;
    out = files;
    if (e instanceof RenderError && e.invalidPackage) return { files, results: run.results, error };
  }
  if (options.writeRenderStatus && files.has(KPTFILE)) {
    out = new Map(out);
    out.set(KPTFILE, writeRenderStatus(out.get(KPTFILE)!, run.mutationSteps, run.validationSteps, error));
  }
  if (error === undefined) return { files: out, results: run.results };
  return { files: out, results: run.results, error, ...(failedFunction !== undefined ? { failedFunction } : {}) };
}

export interface EvalOptions extends RunnerOptions {
  /** A package file holding the function config (`kpt fn eval --fn-config`); as in kpt, it is also one of the resources. */
  fnConfigPath?: string;
}

/**
 * One function over every resource of a package tree, without its pipelines (`kpt fn eval`):
 * `spec.configMap` (the `-- key=value` arguments) or `options.fnConfigPath` give its config. A
 * directory without a Kptfile is allowed, as kpt allows it.
 */
export async function evalFunction(
  files: PackageFiles,
  spec: FunctionSpec,
  options: EvalOptions = {},
): Promise<RenderOutcome> {
  const run: Run = { options, results: newResultList(), mutationSteps: [], validationSteps: [], pkgs: new Map() };
  try {
    run.pkgs = loadPackages(files, false);
    const walk = (dir: string): Item[] => [
      ...run.pkgs.get(dir)!.items,
      ...directSubpackages(run.pkgs, dir).flatMap(walk),
    ];
    const input = walk('');
    let config: YAMLMap | undefined;
    if (options.fnConfigPath) {
      const path = posix.normalize(options.fnConfigPath);
      const found = input.filter((i) => join(i.pkg, i.path) === path);
      if (found.length !== 1)
        throw new RenderError(
          `function config ${JSON.stringify(options.fnConfigPath)} must hold exactly one resource, found ${found.length}`,
        );
      config = cloneNode(found[0]!.node);
    }
    const output = await runStep(run, run.pkgs.get('')!, spec, input, 'mutator', config);
    return { files: writeBack(files, run.pkgs, output), results: run.results };
  } catch (e) {
    run.results.exitCode = 1;
    const error =
      e instanceof RenderError || e instanceof FunctionContractError
        ? e.message
        : `internal error: ${(e as Error).stack ?? e}`;
    return { files, results: run.results, error };
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the package tree

function loadPackages(files: PackageFiles, requireKptfile = true): Map<string, Pkg> {
  const pkgs = new Map<string, Pkg>();
  for (const [path, content] of files) {
    if (path !== KPTFILE && !path.endsWith(`/${KPTFILE}`)) continue;
    const dir = dirOf(path);
    let kptfile: KptfileView;
    try {
      kptfile = readKptfile(content, path);
    } catch (e) {
      throw new RenderError(`${path}: ${(e as Error).message.replace(`${path}: `, '')}`);
    }
    validatePipeline(path, kptfile, files);
    const ignoreFile = files.get(join(dir, '.krmignore'));
    const ignore = ignoreFile ? parseKrmignore(ignoreFile.toString('utf8')) : () => false;
    pkgs.set(dir, { dir, kptfile, items: [], ignore });
  }
  if (!pkgs.has('')) {
    if (requireKptfile) throw new RenderError('the package has no Kptfile at its root');
    pkgs.set('', { dir: '', items: [], ignore: () => false });
  }
  for (const [path, content] of files) {
    if (!isKrmFile(path)) continue;
    const pkg = pkgs.get(ownerOf(pkgs, path))!;
    const rel = pkg.dir ? path.slice(pkg.dir.length + 1) : path;
    if (rel !== KPTFILE && isIgnored(pkg.ignore, rel)) continue;
    if (!isUtf8(content)) continue; // opaque: never decoded, left as it is
    let file;
    try {
      file = parsedFile(content);
    } catch (e) {
      if (e instanceof YamlSyntaxError)
        throw new RenderError(`${path}: invalid YAML${e.line ? ` at line ${e.line}` : ''}: ${e.message}`);
      throw e;
    }
    if ('notAMap' in file)
      throw new RenderError(`${path} (document ${file.notAMap}): not a KRM resource (a YAML map is expected)`);
    file.resources.forEach((resource, index) => {
      pkg.items.push({
        node: resource.node,
        pkg: pkg.dir,
        path: rel,
        index,
        seqIndent: resource.style.indentSeq ? 'wide' : 'compact',
        origin: { file: path, index, ...resource },
      });
    });
  }
  return pkgs;
}

/** The checks kpt makes of a Kptfile's pipeline before it renders anything (kptfile/v1 validation). */
interface Pipeline {
  mutators?: FunctionSpec[];
  validators?: FunctionSpec[];
}

// Kptfile views are shared and never changed (readKptfile), nor is what is read of them here.
const pipelines = new WeakMap<KptfileView, Pipeline>();

function pipelineOf(kptfile: KptfileView | undefined): Pipeline {
  if (!kptfile) return {};
  let pipeline = pipelines.get(kptfile);
  if (!pipeline) {
    pipeline = (kptfile.toJSON().pipeline ?? {}) as Pipeline;
    pipelines.set(kptfile, pipeline);
  }
  return pipeline;
}

// Function config files already found to hold one KRM resource, by content: a fleet's drafts share them.
const CHECKED_CONFIG_LIMIT = 1000;
const checkedConfigs = new Set<string>();

function validatePipeline(path: string, kptfile: KptfileView, files: PackageFiles): void {
  const dir = dirOf(path);
  const pipeline = pipelineOf(kptfile);
  for (const spec of [...(pipeline.mutators ?? []), ...(pipeline.validators ?? [])]) {
    const fail = (why: string): never => {
      throw new RenderError(
        `${path}: invalid pipeline function ${JSON.stringify(spec.image ?? spec.exec ?? '')}: ${why}`,
        true,
      );
    };
    if (!!spec.image === !!spec.exec) fail('a function must have exactly one of `image` and `exec`');
    if (spec.configPath && spec.configMap && Object.keys(spec.configMap).length) {
      fail('functionConfig must not specify both `configMap` and `configPath`');
    }
    if (spec.configPath !== undefined) {
      const normalized = posix.normalize(spec.configPath);
      if (posix.isAbsolute(spec.configPath))
        fail(`configPath ${JSON.stringify(spec.configPath)} must be a relative path`);
      if (normalized === '..' || normalized.startsWith('../')) {
        fail(`configPath ${JSON.stringify(spec.configPath)} must not point outside the package`);
      }
      const file = join(dir, normalized);
      for (let d = dirOf(normalized); d !== ''; d = dirOf(d)) {
        if (files.has(join(dir, `${d}/${KPTFILE}`)))
          fail(`configPath ${JSON.stringify(spec.configPath)} must not point into a subpackage`);
      }
      const content = files.get(file);
      if (!content) fail(`missing function config ${JSON.stringify(spec.configPath)}`);
      const key = contentKey(content!);
      if (checkedConfigs.has(key)) continue;
      let docs;
      try {
        docs = parseDocuments(content!.toString('utf8')).filter((d) => d.doc.contents !== null);
      } catch {
        return fail(`function config ${JSON.stringify(spec.configPath)} is not valid YAML`);
      }
      if (docs.length !== 1)
        fail(`function config ${JSON.stringify(spec.configPath)} must hold exactly one resource, found ${docs.length}`);
      const problem = isMap(docs[0]!.doc.contents) ? notKrm(docs[0]!.doc.contents as YAMLMap) : 'not a YAML map';
      if (problem) fail(`function config ${JSON.stringify(spec.configPath)}: ${problem}`);
      if (checkedConfigs.size >= CHECKED_CONFIG_LIMIT) checkedConfigs.delete(checkedConfigs.values().next().value!);
      checkedConfigs.add(key);
    }
  }
}

/** The package a file belongs to: the deepest package directory above it. */
function ownerOf(pkgs: Map<string, unknown>, path: string): string {
  for (let dir = dirOf(path); ; dir = dirOf(dir)) {
    if (pkgs.has(dir)) return dir;
    if (dir === '') return '';
  }
}

function directSubpackages(pkgs: Map<string, Pkg>, dir: string): string[] {
  return [...pkgs.keys()].filter((d) => d !== '' && d !== dir && nearestParent(pkgs, d) === dir).sort();
}

function nearestParent(pkgs: Map<string, Pkg>, dir: string): string {
  for (let d = dirOf(dir); ; d = dirOf(d)) {
    if (pkgs.has(d)) return d;
    if (d === '') return '';
  }
}

// ---------------------------------------------------------------------------------------------
// The pipeline

async function hydrate(run: Run, dir: string): Promise<Item[]> {
  const pkg = run.pkgs.get(dir)!;
  let input = [...pkg.items];
  for (const sub of directSubpackages(run.pkgs, dir)) input = input.concat(await hydrate(run, sub));
  const pipeline = pipelineOf(pkg.kptfile);
  if (!pipeline.mutators?.length && !pipeline.validators?.length) {
    for (const item of input) {
      const problem = notKrm(item.node, item.path);
      if (problem)
        throw new RenderError(
          `input resource list must contain only KRM resources: ${join(item.pkg, item.path)}: ${problem}`,
        );
    }
  }
  for (const spec of pipeline.mutators ?? []) input = await runStep(run, pkg, spec, input, 'mutator');
  for (const spec of pipeline.validators ?? []) await runStep(run, pkg, spec, input, 'validator');
  return input;
}

function where(pkg: Pkg): string {
  return pkg.dir === '' ? 'the root package' : `package ${JSON.stringify(pkg.dir)}`;
}

async function runStep(
  run: Run,
  pkg: Pkg,
  spec: FunctionSpec,
  input: Item[],
  role: 'mutator' | 'validator',
  config?: YAMLMap,
): Promise<Item[]> {
  const label = spec.image ?? spec.exec ?? '(none)';
  const step: StepResult = {
    ...(spec.name ? { name: spec.name } : {}),
    ...(spec.image ? { image: resolvedImage(spec.image) } : {}),
    ...(spec.exec ? { exec: spec.exec } : {}),
    exitCode: 0,
  };
  (role === 'mutator' ? run.mutationSteps : run.validationSteps).push(step);
  const fail = (why: string, result?: FunctionResult): never => {
    step.exitCode = result?.exitCode || 1;
    if (!result) step.executionError = why;
    const error = new RenderError(`${where(pkg)}: function ${JSON.stringify(label)} failed: ${why}`);
    error.failedFunction = label;
    throw error;
  };

  if (!!spec.image === !!spec.exec) fail('a function must have exactly one of `image` and `exec`');
  const resolved = resolveRunner(spec, run.options);
  if (typeof resolved === 'string') return fail(resolved);
  const runner = resolved;
  const functionConfig = config ?? resolveConfig(pkg, spec, input, fail);

  const nodes = input.map((i) => i.node);
  const picked =
    spec.selectors?.length || spec.exclude?.length
      ? select(nodes, spec.selectors, spec.exclude)
      : nodes.map((_, i) => i);
  for (const item of picked.map((i) => input[i]!)) {
    const problem = notKrm(item.node, item.path);
    if (problem) fail(`input resource list must contain only KRM resources: ${join(item.pkg, item.path)}: ${problem}`);
  }
  // what the function cannot read or change with this config stays out of its list, as if unselected
  const inScope = runner.scope?.(functionConfig);
  const chosen = inScope ? picked.filter((i) => inScope(nodes[i]!)) : picked;
  const selected = chosen.map((i) => input[i]!);

  const limits = {
    timeoutMs: run.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxOutputBytes: run.options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
  };
  const sources = runner.readsSources ? selected.map(unchangedSource) : undefined;
  const withConfig = (nodes: YAMLMap[]) => ({
    items: nodes,
    ...(functionConfig ? { functionConfig } : {}),
    ...(sources ? { sources } : {}),
  });
  let call: ReturnType<typeof annotateForCall> | undefined;
  let output: FunctionOutput | undefined;
  // Shared nodes must not change: a built-in that leaves its input as it is (a draft rendered
  // before) runs on the nodes themselves, one that would change them runs again on copies. The
  // TypeScript built-ins never read kpt's annotations, so this first run goes without them.
  if (runner.runUnchanged && selected.some((item) => isShared(item.node))) {
    const nodes = selected.map((item) => item.node);
    const unchanged = runner.runUnchanged(withConfig(nodes), limits);
    const same = unchanged?.items?.length === nodes.length && unchanged.items.every((node, i) => node === nodes[i]);
    if (same) output = unchanged;
  }
  if (!output) {
    call = annotateForCall(selected, runner.serialized ? 'text' : role === 'mutator' ? 'in-place' : 'copy');
    try {
      output = await runner.run(withConfig(call.nodes), limits);
    } catch (e) {
      output = { results: [], error: (e as Error).message, exitCode: 1 };
    }
  }
  const result: FunctionResult = {
    ...(spec.image ? { image: resolvedImage(spec.image) } : { exec: spec.exec }),
    // kpt keeps a function's stderr without its final newline
    ...(output.stderr?.replace(/\n+$/, '') ? { stderr: output.stderr.replace(/\n+$/, '') } : {}),
    exitCode: output.error ? output.exitCode || 1 : 0,
    ...(output.results.length ? { results: output.results } : {}),
  };
  run.results.items.push(result);
  step.exitCode = result.exitCode;
  if (result.stderr) step.stderr = result.stderr;
  if (result.results) step.results = result.results;
  if (output.error) {
    run.results.exitCode = 1;
    fail(output.error, result);
  }
  if (role === 'validator') return input;

  const collected = call
    ? collectOutput(selected, output.items ?? [], pkg.dir, runner.serialized, call.before, output.unchanged)
    : selected.map((item, source) => ({ item, source }));
  checkOutput(collected, fail);
  if (chosen.length === input.length) return collected.map((c) => c.item);
  // kpt's MergeWithInput: untouched resources stay, changed ones take their place, deleted ones go, new ones come last
  const bySource = new Map(collected.filter((c) => c.source !== undefined).map((c) => [chosen[c.source!]!, c.item]));
  const chosenSet = new Set(chosen);
  const merged: Item[] = [];
  input.forEach((item, i) => {
    if (!chosenSet.has(i)) merged.push(item);
    else if (bySource.has(i)) merged.push(bySource.get(i)!);
  });
  for (const c of collected) if (c.source === undefined) merged.push(c.item);
  return merged;
}

/** Whether an item is as it was read (its document text, `origin.raw`, still stands for it). */
function unchanged(item: Item): boolean {
  return (
    item.origin !== undefined &&
    // a shared node is never changed; one of this render alone may have been changed in place
    ((item.node === item.origin.node && isShared(item.node)) ||
      fingerprint(item.node, true) === item.origin.fingerprint)
  );
}

const unchangedSource = (item: Item): string | undefined => (unchanged(item) ? item.origin!.raw : undefined);

function notKrm(node: YAMLMap, path = ''): string | undefined {
  // kpt leaves kustomization files out of the check (kptdev/kpt#2388)
  if (kindOf(node) === 'Kustomization' || /(^|\/)(kustomization\.ya?ml|Kustomization)$/.test(path)) return undefined;
  if (!apiVersionOf(node)) return 'resource must have `apiVersion`';
  if (!kindOf(node)) return 'resource must have `kind`';
  if (!nameOf(node)) return 'resource must have `metadata.name`';
  return undefined;
}

function checkOutput(collected: { item: Item }[], fail: (why: string) => never): void {
  const seen = new Set<string>();
  for (const { item } of collected) {
    const path = posix.normalize(item.path);
    if (posix.isAbsolute(path) || path === '..' || path.startsWith('../') || path.split('/').includes('.git')) {
      fail(`function must not modify resources outside of package: resource has path ${item.path}`);
    }
    item.path = path;
    const key = `${item.pkg}\0${path}\0${item.index}`;
    if (seen.has(key)) fail(`resource at path "${path}" and index "${item.index}" already exists`);
    seen.add(key);
    const problem = notKrm(item.node, item.path);
    if (problem) fail(`output resource list must contain only KRM resources: ${path}: ${problem}`);
  }
}

function resolveConfig(pkg: Pkg, spec: FunctionSpec, input: Item[], fail: (why: string) => never): YAMLMap | undefined {
  if (spec.configPath && spec.configMap && Object.keys(spec.configMap).length) {
    fail('functionConfig must not specify both `configMap` and `configPath`');
  }
  if (spec.configPath) {
    const path = posix.normalize(spec.configPath);
    if (posix.isAbsolute(spec.configPath))
      fail(`configPath ${JSON.stringify(spec.configPath)} must be a relative path`);
    if (path === '..' || path.startsWith('../'))
      fail(`configPath ${JSON.stringify(spec.configPath)} must not point outside the package`);
    const found = input.filter((i) => i.pkg === pkg.dir && i.path === path);
    if (found.length === 0) fail(`missing function config ${JSON.stringify(spec.configPath)}`);
    if (found.length > 1)
      fail(`function config ${JSON.stringify(spec.configPath)} must hold exactly one resource, found ${found.length}`);
    return cloneNode(found[0]!.node);
  }
  if (spec.configMap && Object.keys(spec.configMap).length) {
    const cm = new Document({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'function-input' }, data: {} })
      .contents as YAMLMap;
    const data = new YAMLMap();
    for (const [k, v] of Object.entries(spec.configMap))
      setField(data, k, stringScalar(v === null || v === undefined ? '' : String(v)));
    setField(cm, 'data', data);
    return cm;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Writing the resources back

function writeBack(files: PackageFiles, pkgs: Map<string, Pkg>, items: Item[]): PackageFiles {
  const out = new Map(files);
  const byFile = new Map<string, Item[]>();
  for (const item of items) {
    const file = join(item.pkg, item.path);
    byFile.set(file, [...(byFile.get(file) ?? []), item]);
  }
  const originalFiles = new Map<string, Item[]>();
  for (const pkg of pkgs.values()) {
    for (const item of pkg.items)
      originalFiles.set(item.origin!.file, [...(originalFiles.get(item.origin!.file) ?? []), item]);
  }
  for (const [file, list] of byFile) {
    list.sort((a, b) => a.index - b.index);
    const before = originalFiles.get(file);
    if (
      before &&
      before.length === list.length &&
      list.every((item, i) => item.origin === before[i]!.origin && unchanged(item))
    ) {
      continue; // byte for byte as it was
    }
    const texts = list.map((item) => {
      if (item.origin && unchanged(item)) return item.origin.raw;
      if (!item.origin) {
        const doc = new Document();
        doc.contents = item.node;
        return doc.toString({ ...NEW_STYLE, indentSeq: item.seqIndent === 'wide' });
      }
      // the original document's comments and directives around the new contents (put back right after)
      const doc = item.origin.doc as Document;
      const contents = doc.contents;
      doc.contents = item.node;
      try {
        return doc.toString(item.origin.style);
      } finally {
        doc.contents = contents;
      }
    });
    out.set(file, Buffer.from(joinDocuments(texts)));
  }
  for (const file of originalFiles.keys()) if (!byFile.has(file)) out.delete(file);
  return out;
}

/** The image as kpt records it: a bare name is the catalog's (ghcr.io/kptdev/krm-functions-catalog/), no tag means `:latest`. */
export function resolvedImage(image: string): string {
  const name = image.includes('/') ? image : `ghcr.io/kptdev/krm-functions-catalog/${image}`;
  const last = name.slice(name.lastIndexOf('/'));
  return name.includes('@') || last.includes(':') ? name : `${name}:latest`;
}
