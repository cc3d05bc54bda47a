// Summary of a V8 CPU profile (`node --cpu-prof`) of a reconcile pass: where the main thread's time
// went, by area of the code (merge, mutations, YAML, git reads, fast-import, push, process spawns),
// plus idle time (waiting for git processes and pushes) and the top functions by self time.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Wall time the profile covers (ms), including module loading. */
  totalMs: number;
  /** By area; each sample counted once (the outermost matching frame of its stack). */
  areasMs: Record<string, number>;
  /** Samples whose innermost frame is in the yaml library (parse and stringify), wherever called from. */
  yamlMs: number;
  /** Samples inside child_process spawn (fork + exec in libuv; the event loop is blocked). */
  spawnMs: number;
  topSelf: Array<{ fn: string; ms: number }>;
}

// Outermost match wins, so the order only matters for frames of the same stack level.
const AREAS: Array<[string, (f: CallFrame) => boolean]> = [
  ['render (lib/fn, main thread; the WebAssembly worker is not sampled)', (f) => f.url.includes('/lib/fn/')],
  ['merge (lib/merge)', (f) => f.url.includes('/lib/merge/')],
  [
    'mutations (controllers/packagevariant/mutations*, injection)',
    (f) => /\/controllers\/packagevariant\/(mutation|injection)/.test(f.url),
  ],
  ['git writes: fast-import (lib/git/writer)', (f) => f.url.includes('/lib/git/writer')],
  ['git push (lib/git/push)', (f) => f.url.includes('/lib/git/push')],
  ['git reads (lib/git store, cat-file)', (f) => /\/lib\/git\/(store|cat-file|cache)\.ts/.test(f.url)],
  ['git batch planning (lib/git/batch)', (f) => f.url.includes('/lib/git/batch')],
  ['kpt (lib/kpt, outside merge)', (f) => f.url.includes('/lib/kpt/')],
  ['local object store (structuredClone)', (f) => f.url.includes('/controllers/local-store')],
  ['yaml (outside our code)', (f) => f.url.includes('/node_modules/yaml/')],
];

function short(f: CallFrame): string {
  const file = f.url.replace(/^.*\/(node_modules\/[^/]+|lib|controllers|bench)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
}

export function summarizeProfile(path: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const areasMs: Record<string, number> = {};
  const self = new Map<string, number>();
  let yamlMs = 0;
  let spawnMs = 0;
  const add = (key: string, ms: number) => (areasMs[key] = (areasMs[key] ?? 0) + ms);
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const leaf = byId.get(id)!;
    const name = leaf.callFrame.functionName;
    if (name === '(idle)') return add('idle (waiting for git, I/O)', ms);
    if (name === '(garbage collector)') return add('garbage collector', ms);
    if (name === '(program)') return add('(program: native, not attributed)', ms);
    self.set(short(leaf.callFrame), (self.get(short(leaf.callFrame)) ?? 0) + ms);
    if (leaf.callFrame.url.includes('/node_modules/yaml/')) yamlMs += ms;
    const stack: CallFrame[] = [];
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) stack.push(byId.get(n)!.callFrame);
    if (stack.some((f) => f.functionName === 'spawn' && f.url.includes('child_process'))) {
      spawnMs += ms;
      return add('spawning git (fork/exec, blocks the loop)', ms);
    }
    for (let k = stack.length - 1; k >= 0; k--) {
      const area = AREAS.find(([, match]) => match(stack[k]!));
      if (area) return add(area[0], ms);
    }
    add('other (reconciler, node internals, module loading)', ms);
  });
  const round = (x: number) => Math.round(x);
  return {
    totalMs: round((profile.endTime - profile.startTime) / 1000),
    areasMs: Object.fromEntries(
      Object.entries(areasMs)
        .sort(([, a], [, b]) => b - a)
        .map(([k, v]) => [k, round(v)]),
    ),
    yamlMs: round(yamlMs),
    spawnMs: round(spawnMs),
    topSelf: [...self]
      .sort(([, a], [, b]) => b - a)
      .slice(0, 15)
      .map(([fn, ms]) => ({ fn, ms: round(ms) })),
  };
}
