// The built-in functions and the catalog versions they stand for (docs/render.md has the table).
import type { Builtin } from '../registry.ts';
import { setLabels } from './set-labels.ts';
import { setNamespace } from './set-namespace.ts';

export const BUILTINS: readonly Builtin[] = [
  { name: 'set-namespace', since: [0, 4], before: [1, 0], runtime: 'typescript', run: setNamespace },
  { name: 'set-labels', since: [0, 2], before: [1, 0], runtime: 'typescript', run: setLabels },
];
