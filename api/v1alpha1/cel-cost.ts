// The cost of a template expression, estimated before it runs: how many comprehension iterations
// (`all`, `exists`, `map`, `filter`, …) it may take. Nested comprehensions multiply, so a 150-character
// expression can ask for a billion; Kubernetes refuses such CRD validation rules by their estimated
// cost, and so does `validatePackageVariantSet`. The same unit bounds an evaluation at run time
// (controllers/packagevariantset/cel.ts), where the real sizes are known.
import { parse } from '@bufbuild/cel';

export interface CelLimits {
  /** Comprehension iterations one expression may take: estimated before, counted while it runs. */
  costLimit: number;
  /** CPU time one evaluation of one expression may take. */
  timeLimitMs: number;
}

export const DEFAULT_CEL_LIMITS: CelLimits = { costLimit: 1_000, timeLimitMs: 50 };

/** Longer expressions are refused unparsed (the parser takes about 5 µs per character). */
export const MAX_EXPRESSION_LENGTH = 2048;

/** Entries assumed for a list or map known only at evaluation (labels, annotations). */
export const UNKNOWN_SIZE = 64;

type Expr = NonNullable<ReturnType<typeof parse>['expr']>;

/** Sizes beyond this are all "too many"; keeps products finite. */
const HUGE = 1e15;
const cap = (n: number) => Math.min(n, HUGE);

interface Sizes {
  /** Entries of a list or map value. */
  size: number;
  /** Entries of each element, when the elements are lists or maps. */
  element: number;
}

const unknown: Sizes = { size: UNKNOWN_SIZE, element: UNKNOWN_SIZE };

/** How big a value may be: literal lists and maps count their entries, anything else is unknown. */
function sizes(expr: Expr | undefined, scope: ReadonlyMap<string, Sizes>): Sizes {
  const kind = expr?.exprKind;
  switch (kind?.case) {
    case 'listExpr': {
      const elements = kind.value.elements.map((e) => sizes(e, scope).size);
      return { size: elements.length, element: Math.max(0, ...elements) };
    }
    case 'structExpr':
      return { size: kind.value.entries.length, element: UNKNOWN_SIZE };
    case 'identExpr':
      return scope.get(kind.value.name) ?? unknown;
    case 'comprehensionExpr':
      // map and filter give at most one entry per iteration; all and exists give a bool.
      return sizes(kind.value.iterRange, scope);
    case 'callExpr': {
      const args = kind.value.args.map((a) => sizes(a, scope));
      if (kind.value.function === '_+_' && args.length === 2) {
        return { size: cap(args[0]!.size + args[1]!.size), element: Math.max(args[0]!.element, args[1]!.element) };
      }
      if (kind.value.function === '_?_:_' && args.length === 3) {
        return { size: Math.max(args[1]!.size, args[2]!.size), element: Math.max(args[1]!.element, args[2]!.element) };
      }
      return unknown;
    }
    default:
      return unknown;
  }
}

/** Comprehension iterations `expr` may take: a range of n runs its condition and step n times. */
function iterations(expr: Expr | undefined, scope: ReadonlyMap<string, Sizes>): number {
  const kind = expr?.exprKind;
  switch (kind?.case) {
    case 'selectExpr':
      return iterations(kind.value.operand, scope);
    case 'callExpr':
      return cap(
        iterations(kind.value.target, scope) + kind.value.args.reduce((sum, a) => sum + iterations(a, scope), 0),
      );
    case 'listExpr':
      return cap(kind.value.elements.reduce((sum, e) => sum + iterations(e, scope), 0));
    case 'structExpr':
      return cap(
        kind.value.entries.reduce(
          (sum, entry) =>
            sum +
            (entry.keyKind.case === 'mapKey' ? iterations(entry.keyKind.value, scope) : 0) +
            iterations(entry.value, scope),
          0,
        ),
      );
    case 'comprehensionExpr': {
      const c = kind.value;
      const range = sizes(c.iterRange, scope);
      const inner = new Map(scope);
      inner.set(c.iterVar, { size: range.element, element: UNKNOWN_SIZE });
      if (c.iterVar2) inner.set(c.iterVar2, unknown);
      const perIteration = 1 + iterations(c.loopCondition, inner) + iterations(c.loopStep, inner);
      return cap(
        iterations(c.iterRange, scope) +
          iterations(c.accuInit, scope) +
          range.size * perIteration +
          iterations(c.result, scope),
      );
    }
    default:
      return 0;
  }
}

/** Estimated comprehension iterations of `text`; undefined when it does not parse (rendering reports that). */
export function estimateCelCost(text: string): number | undefined {
  let expr: Expr | undefined;
  try {
    expr = parse(text).expr;
  } catch {
    return undefined;
  }
  return iterations(expr, new Map());
}

/** Why `text` may not run as a template expression, or undefined. */
export function celLimitViolation(text: string, limits: CelLimits = DEFAULT_CEL_LIMITS): string | undefined {
  if (text.length > MAX_EXPRESSION_LENGTH) {
    return `expression is ${text.length} characters long, more than the limit of ${MAX_EXPRESSION_LENGTH}`;
  }
  const cost = estimateCelCost(text);
  if (cost !== undefined && cost > limits.costLimit) {
    const shown = cost >= HUGE ? `more than ${HUGE}` : String(cost);
    return `estimated cost ${shown} (comprehension iterations; nested comprehensions multiply) exceeds the limit of ${limits.costLimit}`;
  }
  return undefined;
}
