// The built-ins compiled from Go (lib/fn/wasm) run in a worker thread: the module is compiled once
// per worker, each call is bounded by the timeout (the worker is ended and replaced) and the output
// size. The Go program gets no file system, no environment and no network: wasm_exec.js's stubs
// answer ENOSYS to every file call, and nothing else is handed to it.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ANNOTATIONS, FunctionContractError, parseResourceList, serializeResourceList } from '../resourcelist.ts';
import type { FunctionOutput, ResourceList } from '../types.ts';
import { isMap, isSeq, Scalar, type YAMLMap } from 'yaml';
import {
  cloneNode,
  deleteField,
  getField,
  getIn,
  parseDocuments,
  scalarString,
  setField,
  type YNode,
} from '../../kpt/yaml.ts';
import type { Limits } from './process.ts';

const SOURCE_DIR = new URL('../wasm/', import.meta.url);

/** The cache key scripts/build-fn-wasm.sh uses: sha256 over "<name>\n<content>" of go.mod, go.sum and the .go files. */
export function wasmKey(sourceDir: URL | string = SOURCE_DIR): string {
  const names = readdirSync(sourceDir)
    .filter((n) => n === 'go.mod' || n === 'go.sum' || n.endsWith('.go'))
    .sort();
  const hash = createHash('sha256');
  for (const name of names) {
    hash.update(`${name}\n`);
    hash.update(readFileSync(new URL(name, sourceDir)));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Where the built module is: $PVCTL_FN_WASM_DIR, else the build script's cache directory for these sources. */
export function wasmDir(): string {
  if (process.env.PVCTL_FN_WASM_DIR) return process.env.PVCTL_FN_WASM_DIR;
  const cache = process.env.XDG_CACHE_HOME || join(process.env.HOME || homedir(), '.cache');
  return join(cache, 'packagevariant-controller', 'fn-wasm', wasmKey());
}

export class WasmMissingError extends Error {}

const WORKER_SOURCE = `
// getBuiltinModule, not require: the source runs as CommonJS or as a module (a host started with
// --input-type=module passes that to its workers)
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const { readFileSync } = process.getBuiltinModule('node:fs');
const vm = process.getBuiltinModule('node:vm');
let stderr = '';
const enosys = () => { const e = new Error('not implemented'); e.code = 'ENOSYS'; return e; };
const decoder = new TextDecoder();
// the file system Go sees: writes to stdout/stderr are captured, everything else fails
globalThis.fs = {
  constants: { O_WRONLY: -1, O_RDWR: -1, O_CREAT: -1, O_TRUNC: -1, O_APPEND: -1, O_EXCL: -1, O_DIRECTORY: -1 },
  writeSync(fd, buf) { if (fd === 1 || fd === 2) { stderr += decoder.decode(buf); return buf.length; } throw enosys(); },
  write(fd, buf, offset, length, position, callback) {
    if (offset !== 0 || length !== buf.length || position !== null) { callback(enosys()); return; }
    try { callback(null, this.writeSync(fd, buf)); } catch (e) { callback(e); }
  },
};
for (const op of ['chmod','chown','close','fchmod','fchown','fstat','fsync','ftruncate','lchown','link','lstat','mkdir','open','read','readdir','readlink','rename','rmdir','stat','symlink','truncate','unlink','utimes']) {
  globalThis.fs[op] = (...args) => args[args.length - 1](enosys());
}
vm.runInThisContext(readFileSync(workerData.wasmExec, 'utf8'), { filename: 'wasm_exec.js' });
(async () => {
  const module = await WebAssembly.compile(readFileSync(workerData.wasm));
  const go = new globalThis.Go();
  go.env = {};
  go.argv = ['functions'];
  const instance = await WebAssembly.instantiate(module, go.importObject);
  go.run(instance);
  parentPort.on('message', ({ id, fn, input, documents, wholeItems }) => {
    stderr = '';
    try {
      const r = globalThis.pvctlProcessResourceList(fn, input, documents, wholeItems);
      parentPort.postMessage({ id, output: r.output, order: r.order, error: r.error, stderr: r.stderr || stderr });
    } catch (e) {
      parentPort.postMessage({ id, output: '', error: String(e && e.message || e), stderr });
    }
  });
  parentPort.postMessage({ ready: true });
})().catch((e) => parentPort.postMessage({ fatal: String(e && e.stack || e) }));
`;

/** A change of an input item: the YAML text of the new value at `path`, or the removal of the map key there. */
interface Edit {
  path: (string | number)[];
  yaml?: string;
  delete?: boolean;
}

interface Reply {
  output: string;
  /**
   * Per output item: the id of the input item it still equals, that id with the edits that make the
   * output item of it, or "" for the next item of `output`.
   */
  order?: (string | { id: string; edits: Edit[] })[] | null;
  error: string;
  stderr: string;
}

/**
 * What the module reads: the ResourceList as YAML, and as JSON the items sent as the text they were
 * parsed from (`{at, text, annotations}`: their position, and kpt's annotations the module adds).
 */
interface Request {
  input: string;
  documents: string;
}

/** Where the module could not read a document it was sent; it is then sent as YAML written here. */
const DOCUMENTS_UNREADABLE = 'documents unreadable: ';

function request(list: ResourceList, useSources: boolean): Request {
  const documents: { at: number; text: string; annotations: [string, string][] }[] = [];
  const written: YAMLMap[] = [];
  list.items.forEach((node, at) => {
    const text = useSources ? list.sources?.[at] : undefined;
    if (text === undefined) written.push(node);
    else documents.push({ at, text, annotations: kptAnnotations(node) });
  });
  return {
    input: serializeResourceList({
      items: written,
      ...(list.functionConfig ? { functionConfig: list.functionConfig } : {}),
    }),
    documents: documents.length ? JSON.stringify(documents) : '',
  };
}

/** The annotations kpt adds for a function call (lib/fn/resourcelist.ts annotateForCall), as they are on `node`. */
function kptAnnotations(node: YAMLMap): [string, string][] {
  const annotations = getIn(node, ['metadata', 'annotations']);
  if (!isMap(annotations)) return [];
  return annotations.items.flatMap((pair) => {
    const key = scalarString(pair.key);
    const value = scalarString(pair.value);
    return key !== undefined && value !== undefined && KPT_ANNOTATIONS.has(key)
      ? [[key, value] as [string, string]]
      : [];
  });
}

const KPT_ANNOTATIONS = new Set<string>(Object.values(ANNOTATIONS));

/** One worker holding the instantiated module; calls are run one at a time. */
class WasmHost {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private next = 0;
  private pending = new Map<number, (r: Reply) => void>();

  private start(dir: string): Promise<void> {
    const wasm = join(dir, 'functions.wasm');
    const wasmExec = join(dir, 'wasm_exec.js');
    if (!existsSync(wasm) || !existsSync(wasmExec)) {
      throw new WasmMissingError(
        `the built-in functions' WebAssembly module is missing (${wasm}); build it with scripts/build-fn-wasm.sh (make install does)`,
      );
    }
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { wasm, wasmExec } });
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (m: { ready?: boolean; fatal?: string; id?: number } & Reply) => {
        if (m.ready) resolve();
        else if (m.fatal) reject(new Error(`the WebAssembly module cannot be started: ${m.fatal}`));
        else if (m.id !== undefined) {
          this.pending.get(m.id)?.(m);
          this.pending.delete(m.id);
        }
      });
      worker.on('error', (e) => {
        reject(e);
        this.stop();
      });
      worker.on('exit', () => {
        if (this.worker === worker) this.stop();
      });
    });
  }

  shutdown(): void {
    this.stop();
  }

  private stop(): void {
    const worker = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    for (const done of this.pending.values()) done({ output: '', error: 'the function worker stopped', stderr: '' });
    this.pending.clear();
    void worker?.terminate();
  }

  call(fn: string, input: Request, limits: Limits): Promise<Reply> {
    const run = async (): Promise<Reply> => {
      const started = Date.now();
      if (!this.ready) this.ready = this.start(wasmDir());
      // the worker holds the process only while a call runs: an idle worker never keeps a finished
      // pass or script alive, and a script awaiting a render does not exit under it
      const worker = this.worker;
      worker?.ref();
      try {
        await this.ready;
        return await this.send(fn, input, limits, started);
      } finally {
        worker?.unref();
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private send(fn: string, input: Request, limits: Limits, started: number): Promise<Reply> {
    const id = this.next++;
    return new Promise<Reply>((resolve) => {
      // the first call also waits for the module to compile: the limit counts from the call
      const timer = setTimeout(
        () => {
          this.pending.delete(id);
          this.stop();
          resolve({ output: '', error: `timed out after ${limits.timeoutMs} ms`, stderr: '' });
        },
        Math.max(1, limits.timeoutMs - (Date.now() - started)),
      );
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.worker!.postMessage({ id, fn, ...input, wholeItems: wasmAnswers.wholeItems });
    });
  }
}

/**
 * `wholeItems`: the module answers with every changed item whole, never as edits (for the test that
 * both answers render alike); `editedItems` counts the items made from edits.
 */
export const wasmAnswers = { wholeItems: false, editedItems: 0 };

const host = new WasmHost();

/** Ends the worker (it is started again by the next call); for tests and a clean exit. */
export function stopWasmRuntime(): void {
  host.shutdown();
}

/** The output items in the function's order: unchanged ones are the input nodes themselves. */
function inOrder(
  input: readonly YAMLMap[],
  written: YAMLMap[],
  order: Reply['order'],
): { items: YAMLMap[]; unchanged: Set<YAMLMap> } {
  const unchanged = new Set<YAMLMap>();
  if (!order) return { items: written, unchanged };
  const byId = new Map(input.map((node, i) => [String(i + 1), node]));
  const inputItem = (id: string) => {
    const node = byId.get(id);
    if (!node) throw new FunctionContractError(`the function answered with an unknown item id ${JSON.stringify(id)}`);
    return node;
  };
  let next = 0;
  const items = order.map((entry) => {
    if (!entry) return written[next++]!;
    if (typeof entry !== 'string') {
      wasmAnswers.editedItems++;
      return edited(cloneNode(inputItem(entry.id)), entry.edits);
    }
    const node = inputItem(entry);
    unchanged.add(node);
    return node;
  });
  return { items: [...items, ...written.slice(next)], unchanged };
}

/** `item` (a copy of an input item) with the function's edits made. */
function edited(item: YAMLMap, edits: readonly Edit[]): YAMLMap {
  for (const { path, yaml, delete: remove } of edits) {
    let parent: unknown = item;
    for (const step of path.slice(0, -1)) {
      parent = typeof step === 'number' ? (isSeq(parent) ? parent.items[step] : undefined) : getField(parent, step);
    }
    const last = path[path.length - 1];
    const value = yaml === undefined ? undefined : (parseDocuments(yaml)[0]?.doc.contents ?? new Scalar(null));
    if (typeof last === 'string' && isMap(parent) && (remove || value)) {
      if (remove) deleteField(parent, last);
      else setField(parent, last, value as YNode);
    } else if (typeof last === 'number' && isSeq(parent) && last < parent.items.length && value) {
      parent.items[last] = value;
    } else {
      throw new FunctionContractError(
        `the function answered with an edit at ${JSON.stringify(path)} the item does not have`,
      );
    }
  }
  return item;
}

/** Runs a built-in from the WebAssembly module. */
export async function runWasm(fn: string, list: ResourceList, limits: Limits): Promise<FunctionOutput> {
  let reply: Reply;
  try {
    reply = await host.call(fn, request(list, true), limits);
    if (reply.error.startsWith(DOCUMENTS_UNREADABLE)) reply = await host.call(fn, request(list, false), limits);
  } catch (e) {
    return { results: [], error: (e as Error).message, exitCode: 1 };
  }
  if (Buffer.byteLength(reply.output) > limits.maxOutputBytes) {
    return { results: [], error: `output exceeds ${limits.maxOutputBytes} bytes`, exitCode: 1 };
  }
  let parsed: ReturnType<typeof parseResourceList> | undefined;
  try {
    parsed = reply.output ? parseResourceList(reply.output) : undefined;
  } catch (e) {
    if (!reply.error) return { results: [], error: (e as Error).message, exitCode: 1 };
  }
  if (reply.error) {
    // "function failure\n<stderr>": the function failed as its catalog image does (exit 1, that stderr)
    const [error, ...stderr] = reply.error.split('\n');
    return { results: parsed?.results ?? [], error: error!, exitCode: 1, stderr: stderr.join('\n') || reply.stderr };
  }
  const { items, unchanged } = inOrder(list.items, parsed?.items ?? [], reply.order);
  return {
    items,
    unchanged,
    results: parsed?.results ?? [],
    exitCode: 0,
    ...(reply.stderr ? { stderr: reply.stderr } : {}),
  };
}
