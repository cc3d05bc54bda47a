// CEL for PackageVariantSet templates: the variables Porch declares, every expression parsed and
// planned once per reconcile, results that must be strings, and errors that name the template field.
import { celEnv, CelScalar, isCelError, mapType, parse, plan, type CelInput } from '@bufbuild/cel';
import type { KubeObject } from '../../api/v1alpha1/index.ts';

export const CEL_VARIABLES = ['repoDefault', 'packageDefault', 'upstream', 'target', 'repository'] as const;
export type CelVariable = (typeof CEL_VARIABLES)[number];

/** Values bound to the variables; maps are plain records here and become CEL maps on evaluation. */
export interface CelInputs {
  repoDefault: string;
  packageDefault: string;
  upstream: Record<string, unknown>;
  target: Record<string, unknown>;
  repository?: Record<string, unknown>;
}

/** An expression that failed to compile or evaluate; the message starts with the template field. */
export class TemplateError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'TemplateError';
    this.field = field;
  }
}

type Expr = ReturnType<typeof parse>['expr'];

const dynMap = mapType(CelScalar.STRING, CelScalar.DYN);
const ENV = celEnv({
  variables: {
    repoDefault: CelScalar.STRING,
    packageDefault: CelScalar.STRING,
    upstream: dynMap,
    target: dynMap,
    repository: dynMap,
  },
});
// Identifiers CEL resolves without a declaration (type names used as values, e.g. `type(x) == string`).
const BUILTIN_IDENTS = new Set([
  'int',
  'uint',
  'double',
  'bool',
  'string',
  'bytes',
  'list',
  'map',
  'null_type',
  'type',
]);

/** The 4-key map Porch binds for an object: name, namespace, labels, annotations. */
export function objectMap(obj: KubeObject): Record<string, unknown> {
  return {
    name: obj.metadata?.name ?? '',
    namespace: obj.metadata?.namespace ?? '',
    labels: { ...obj.metadata?.labels },
    annotations: { ...obj.metadata?.annotations },
  };
}

function toCel(value: unknown): CelInput {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map(toCel);
  if (typeof value === 'object') return new Map(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  return value as CelInput;
}

function position(text: string, offset: number | undefined): string {
  if (offset === undefined) return '';
  const before = text.slice(0, offset).split('\n');
  return `<input>:${before.length}:${before.at(-1)!.length + 1}: `;
}

/** Free identifiers that are not declared variables: cel-go rejects them when compiling ("undeclared reference"). */
function undeclared(expr: Expr | undefined, bound: Set<string>, found: { name: string; id: bigint }[]): void {
  if (!expr) return;
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'identExpr':
      if (!bound.has(kind.value.name) && !BUILTIN_IDENTS.has(kind.value.name)) {
        found.push({ name: kind.value.name, id: expr.id });
      }
      return;
    case 'selectExpr':
      return undeclared(kind.value.operand, bound, found);
    case 'callExpr':
      undeclared(kind.value.target, bound, found);
      for (const arg of kind.value.args) undeclared(arg, bound, found);
      return;
    case 'listExpr':
      for (const element of kind.value.elements) undeclared(element, bound, found);
      return;
    case 'structExpr':
      for (const entry of kind.value.entries) {
        if (entry.keyKind.case === 'mapKey') undeclared(entry.keyKind.value, bound, found);
        undeclared(entry.value, bound, found);
      }
      return;
    case 'comprehensionExpr': {
      const c = kind.value;
      undeclared(c.iterRange, bound, found);
      undeclared(c.accuInit, bound, found);
      const inner = new Set([...bound, c.iterVar, c.iterVar2, c.accuVar].filter(Boolean));
      undeclared(c.loopCondition, inner, found);
      undeclared(c.loopStep, inner, found);
      undeclared(c.result, new Set([...bound, c.accuVar]), found);
      return;
    }
    default:
      return;
  }
}

type Program = (inputs: Record<string, CelInput>) => unknown;
interface Compiled {
  program: Program;
  /** The variables the expression reads. */
  uses: Set<string>;
}

/**
 * Compiles and evaluates template expressions. Create one per reconcile: each distinct expression is
 * parsed and planned once, however many targets use it.
 */
export class TemplateEvaluator {
  private readonly programs = new Map<string, Compiled | Error>();

  private compile(text: string): Compiled {
    let compiled = this.programs.get(text);
    if (!compiled) {
      try {
        const parsed = parse(text);
        const free: { name: string; id: bigint }[] = [];
        undeclared(parsed.expr, new Set(), free);
        const missing = free.find((f) => !(CEL_VARIABLES as readonly string[]).includes(f.name));
        if (missing) {
          const offset = parsed.sourceInfo?.positions[missing.id.toString()];
          throw new Error(`${position(text, offset)}undeclared reference to '${missing.name}'`);
        }
        compiled = { program: plan(ENV, parsed) as Program, uses: new Set(free.map((f) => f.name)) };
      } catch (error) {
        compiled = error instanceof Error ? error : new Error(String(error));
      }
      this.programs.set(text, compiled);
    }
    if (compiled instanceof Error) throw compiled;
    return compiled;
  }

  /** Evaluates `text` to a string; throws {@link TemplateError} naming `field`. */
  evaluate(field: string, text: string, inputs: CelInputs): string {
    const available = CEL_VARIABLES.filter((v) => inputs[v] !== undefined);
    let result: unknown;
    try {
      const { program, uses } = this.compile(text);
      // `repository` is declared but not yet bound while `repoExpr` is evaluated (Porch's order).
      const unbound = [...uses].find((name) => !(available as string[]).includes(name));
      if (unbound) throw new Error(`'${unbound}' is not available in this expression`);
      const bindings: Record<string, CelInput> = {};
      for (const name of available) bindings[name] = toCel(inputs[name]);
      result = program(bindings);
    } catch (error) {
      throw new TemplateError(field, error instanceof Error ? error.message : String(error));
    }
    // Every map here is a map, never a message: say what cel-go says for a missing key.
    if (isCelError(result))
      throw new TemplateError(field, result.message.replace(/^field not found: /, 'no such key: '));
    if (typeof result !== 'string') {
      throw new TemplateError(field, `must evaluate to a string, not ${describe(result)}`);
    }
    return result;
  }

  /** Distinct expressions compiled so far (for tests and metrics). */
  get compiled(): number {
    return this.programs.size;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `int ${value}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return value instanceof Uint8Array ? 'bytes' : 'a list or map';
  return `${typeof value} ${String(value)}`;
}
