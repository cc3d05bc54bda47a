// The built-in functions and the catalog versions they stand for (docs/render.md has the table).
import type { Builtin } from '../registry.ts';
import { runWasm } from '../runtimes/wasm.ts';
import { replacementScope } from './replacement-scope.ts';
import { setLabels } from './set-labels.ts';
import { setNamespace } from './set-namespace.ts';

export const BUILTINS: readonly Builtin[] = [
  { name: 'set-namespace', since: [0, 4], before: [1, 0], runtime: 'typescript', run: setNamespace },
  { name: 'set-labels', since: [0, 2], before: [1, 0], runtime: 'typescript', run: setLabels },
  {
    name: 'apply-replacements',
    since: [0, 1],
    before: [1, 0],
    runtime: 'wasm',
    run: (list, limits) => runWasm('apply-replacements', list, limits),
    scope: replacementScope,
  },
  {
    name: 'set-annotations',
    since: [0, 1],
    before: [1, 0],
    runtime: 'wasm',
    run: (list, limits) => runWasm('set-annotations', list, limits),
  },
  {
    name: 'set-image',
    since: [0, 1],
    before: [1, 0],
    runtime: 'wasm',
    run: (list, limits) => runWasm('set-image', list, limits),
  },
  {
    name: 'apply-setters',
    since: [0, 1],
    before: [1, 0],
    runtime: 'wasm',
    run: (list, limits) => runWasm('apply-setters', list, limits),
  },
  {
    name: 'search-replace',
    since: [0, 1],
    before: [1, 0],
    runtime: 'wasm',
    run: (list, limits) => runWasm('search-replace', list, limits),
  },
  {
    name: 'starlark',
    since: [0, 4],
    before: [1, 0],
    runtime: 'wasm',
    run: (list, limits) => runWasm('starlark', list, limits),
  },
];
