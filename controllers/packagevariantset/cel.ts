// CEL for PackageVariantSet templates: the variables Porch declares, every expression parsed and
// planned once per reconcile, results that must be strings, and errors that name the template field.
// Each evaluation runs on a budget: every comprehension iteration is counted against the cost limit
// and the thread's CPU time against the time limit, and the first iteration over either ends it.
import { celEnv, celFunc, CelScalar, isCelError, mapType, parse, plan, type CelInput } from '@bufbuild/cel';
import { DEFAULT_CEL_LIMITS, MAX_EXPRESSION_LENGTH, type CelLimits } from '../../api/v1alpha1/cel-cost.ts';
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
  /** It may pass next time (it ran out of time, not of cost): retry rather than stall. */
  readonly transient: boolean;
  constructor(field: string, message: string, transient = false) {
    super(`${field}: ${message}`);
    this.name = 'TemplateError';
    this.field = field;
    this.transient = transient;
  }
}

type Expr = ReturnType<typeof parse>['expr'];
type Call = Extract<NonNullable<Expr>['exprKind'], { case: 'callExpr' }>['value'];

/** One evaluation's budget: comprehension iterations and thread CPU time. */
class Budget {
  private readonly limits: CelLimits;
  private readonly cpuStart = cpuMicros();
  /** Reading the thread's CPU time is a system call: not before this (wall) time, when it could first be over. */
  private nextCheck: number;
  private used = 0;
  /** Why the evaluation was stopped; every later iteration stops at once too. */
  exceeded: { message: string; transient: boolean } | undefined;

  constructor(limits: CelLimits) {
    this.limits = limits;
    this.nextCheck = performance.now() + limits.timeLimitMs;
  }

  /** One comprehension iteration; throws (a CEL error where it is called) once over a limit. */
  step(): void {
    if (!this.exceeded && ++this.used > this.limits.costLimit) {
      const message = `cost limit exceeded: more than ${this.limits.costLimit} comprehension iterations`;
      this.exceeded = { message, transient: false };
    }
    const now = performance.now();
    if (!this.exceeded && now >= this.nextCheck) {
      const cpuMs = (cpuMicros() - this.cpuStart) / 1000;
      if (cpuMs > this.limits.timeLimitMs) {
        const message = `time limit exceeded: evaluation took more than ${this.limits.timeLimitMs} ms`;
        this.exceeded = { message, transient: true };
      }
      // CPU time grows no faster than wall time.
      this.nextCheck = now + this.limits.timeLimitMs - cpuMs;
    }
    if (this.exceeded) throw new Error(this.exceeded.message);
  }
}

function cpuMicros(): number {
  const { user, system } = process.threadCpuUsage();
  return user + system;
}

/** The budget of the evaluation running now (evaluation is synchronous: one at a time). */
let budget: Budget | undefined;

/** Wraps every comprehension's loop condition, so that each iteration is counted first. */
const STEP = '@step';
const step = celFunc(STEP, [CelScalar.DYN], CelScalar.DYN, (value) => {
  budget?.step();
  return value as CelInput;
});

function meter(expr: Expr | undefined): void {
  const kind = expr?.exprKind;
  switch (kind?.case) {
    case 'selectExpr':
      return meter(kind.value.operand);
    case 'callExpr':
      meter(kind.value.target);
      return kind.value.args.forEach(meter);
    case 'listExpr':
      return kind.value.elements.forEach(meter);
    case 'structExpr':
      for (const entry of kind.value.entries) {
        if (entry.keyKind.case === 'mapKey') meter(entry.keyKind.value);
        meter(entry.value);
      }
      return;
    case 'comprehensionExpr': {
      const c = kind.value;
      [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].forEach(meter);
      const condition = c.loopCondition!;
      const call: Call = { $typeName: 'cel.expr.Expr.Call', function: STEP, args: [condition] };
      c.loopCondition = { ...condition, exprKind: { case: 'callExpr', value: call } };
      return;
    }
    default:
      return;
  }
}

const dynMap = mapType(CelScalar.STRING, CelScalar.DYN);
const ENV = celEnv({
  funcs: [step],
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
  private readonly limits: CelLimits;

  constructor(limits: CelLimits = DEFAULT_CEL_LIMITS) {
    this.limits = limits;
  }

  private compile(text: string): Compiled {
    let compiled = this.programs.get(text);
    if (!compiled) {
      try {
        if (text.length > MAX_EXPRESSION_LENGTH) {
          throw new Error(`expression is longer than ${MAX_EXPRESSION_LENGTH} characters`);
        }
        const parsed = parse(text);
        const free: { name: string; id: bigint }[] = [];
        undeclared(parsed.expr, new Set(), free);
        const missing = free.find((f) => !(CEL_VARIABLES as readonly string[]).includes(f.name));
        if (missing) {
          const offset = parsed.sourceInfo?.positions[missing.id.toString()];
          throw new Error(`${position(text, offset)}undeclared reference to '${missing.name}'`);
        }
        meter(parsed.expr);
        compiled = { program: plan(ENV, parsed) as Program, uses: new Set(free.map((f) => f.name)) };
      } catch (error) {
        compiled =
          error instanceof RangeError
            ? new Error('expression is nested too deeply')
            : error instanceof Error
              ? error
              : new Error(String(error));
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
      const current = new Budget(this.limits);
      budget = current;
      try {
        result = program(bindings);
      } finally {
        budget = undefined;
      }
      // Checked before the result: `true || <over budget>` is true, and still over budget.
      if (current.exceeded) throw new TemplateError(field, current.exceeded.message, current.exceeded.transient);
    } catch (error) {
      if (error instanceof TemplateError) throw error;
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
