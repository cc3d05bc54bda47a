// Bounds on template expressions: nested comprehensions are refused by their estimated cost before
// they run, and an evaluation stops at its cost or time limit — with an error that names the field,
// in well under a second, without holding the event loop.
import { describe, expect, it } from '@jest/globals';
import { estimateCelCost } from '../../api/v1alpha1/cel-cost.ts';
import {
  API_VERSION,
  describeFieldErrors,
  validatePackageVariantSet,
  type PackageVariantSet,
} from '../../api/v1alpha1/index.ts';
import { TemplateError, TemplateEvaluator, type CelInputs } from './cel.ts';

/** `string([1..10].map(a, [1..10].map(b, … 'x')))`: 10^levels iterations in about 30 characters a level. */
function nested(levels: number): string {
  let expr = "'x'";
  for (let i = levels - 1; i >= 0; i--) expr = `[1,2,3,4,5,6,7,8,9,10].map(v${i},${expr})`;
  return `string(${expr})`;
}

const FIELD = 'spec.targets[0].template.downstream.packageExpr';

const labels = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, `v${i}`]));
const inputs = (targetLabels: Record<string, string> = {}): CelInputs => ({
  repoDefault: 'repo',
  packageDefault: 'pkg',
  upstream: { name: 'up', namespace: 'default', labels: {}, annotations: {} },
  target: { name: 'edge-1', namespace: 'default', labels: targetLabels, annotations: {} },
});

const set = (packageExpr: string): PackageVariantSet => ({
  apiVersion: API_VERSION,
  kind: 'PackageVariantSet',
  metadata: { name: 'pvs', namespace: 'default' },
  spec: {
    upstream: { repo: 'up', package: 'nginx', revision: 1 },
    targets: [{ repositories: [{ name: 'edge-1' }], template: { downstream: { packageExpr } } }],
  },
});

/** Wall and thread CPU milliseconds `fn` took. */
function timed<T>(fn: () => T): { wallMs: number; cpuMs: number; value: T | unknown } {
  const wall = performance.now();
  const cpu = process.threadCpuUsage();
  let value: T | unknown;
  try {
    value = fn();
  } catch (error) {
    value = error;
  }
  const used = process.threadCpuUsage(cpu);
  return { wallMs: performance.now() - wall, cpuMs: (used.user + used.system) / 1000, value };
}

describe('estimated cost (validation)', () => {
  it('counts comprehension iterations: literal lists by their length, nesting multiplies', () => {
    expect(estimateCelCost("'nginx-' + target.name")).toBe(0);
    expect(estimateCelCost('[1,2,3].exists(x, x == 2)')).toBe(3);
    expect(estimateCelCost(nested(1))).toBe(10);
    expect(estimateCelCost(nested(2))).toBe(110);
    expect(estimateCelCost(nested(6))).toBe(1_111_110);
    // Sizes known only at evaluation (labels) count as 64 entries.
    expect(estimateCelCost("target.labels.exists(k, k == 'tier')")).toBe(64);
    expect(estimateCelCost('target.labels.all(a, target.labels.all(b, a != b))')).toBe(64 * 65);
    // Iterating over a list built from nested lists sees the inner size.
    expect(estimateCelCost('[[1,2],[3,4,5]].all(l, l.all(x, x > 0))')).toBe(2 * (1 + 3));
    expect(estimateCelCost('not valid (')).toBeUndefined();
  });

  it.each([6, 9])('refuses a %i-level nested comprehension with a field error, in well under a second', (levels) => {
    const { wallMs, value: errors } = timed(() => validatePackageVariantSet(set(nested(levels))));
    expect(wallMs).toBeLessThan(1000);
    const message = describeFieldErrors(errors as ReturnType<typeof validatePackageVariantSet>);
    expect(message).toContain(`${FIELD}: Invalid value: "${nested(levels)}": estimated cost`);
    expect(message).toContain('exceeds the limit of 1000');
  });

  it('refuses an expression longer than 2048 characters without parsing it', () => {
    const long = `'${'x'.repeat(3000)}'`;
    expect(describeFieldErrors(validatePackageVariantSet(set(long)))).toContain(
      `${FIELD}: Too long: may not be longer than 2048 characters`,
    );
  });

  it('accepts the template expressions a fleet uses, and honours a higher limit', () => {
    expect(validatePackageVariantSet(set("'nginx-' + target.name"))).toEqual([]);
    expect(validatePackageVariantSet(set("target.labels.exists(k, k == 'tier') ? 'a' : 'b'"))).toEqual([]);
    expect(validatePackageVariantSet(set(nested(3)))).not.toEqual([]);
    expect(validatePackageVariantSet(set(nested(3)), { costLimit: 2_000, timeLimitMs: 20 })).toEqual([]);
  });
});

describe('evaluation budget', () => {
  it.each([6, 9])('stops a %i-level nested comprehension at a limit, naming the field', (levels) => {
    // The evaluator alone, as if validation had let it through.
    const { wallMs, value } = timed(() => new TemplateEvaluator().evaluate(FIELD, nested(levels), inputs()));
    expect(value).toBeInstanceOf(TemplateError);
    expect((value as TemplateError).field).toBe(FIELD);
    expect((value as TemplateError).message).toMatch(
      new RegExp(`^${FIELD.replace(/[[\].]/g, '\\$&')}: (cost|time) limit exceeded`),
    );
    expect(wallMs).toBeLessThan(1000);
  });

  it('counts the real sizes: a loop over 2,000 labels is over the cost limit (the estimate was 64)', () => {
    const expr = "target.labels.exists(k, k == 'tier') ? 'tiered' : 'flat'";
    expect(validatePackageVariantSet(set(expr))).toEqual([]);
    const evaluator = new TemplateEvaluator({ costLimit: 1_000, timeLimitMs: 60_000 });
    expect(evaluator.evaluate(FIELD, expr, inputs(labels(900)))).toBe('flat');
    let error: unknown;
    try {
      evaluator.evaluate(FIELD, expr, inputs(labels(2_000)));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TemplateError);
    expect(error).toMatchObject({
      message: `${FIELD}: cost limit exceeded: more than 1000 comprehension iterations`,
      transient: false,
    });
  });

  it('a time limit ends an evaluation the cost limit allows; it may pass on a retry (transient)', () => {
    const evaluator = new TemplateEvaluator({ costLimit: Number.MAX_SAFE_INTEGER, timeLimitMs: 5 });
    const { cpuMs, value } = timed(() => evaluator.evaluate(FIELD, nested(9), inputs()));
    expect(value).toMatchObject({
      message: `${FIELD}: time limit exceeded: evaluation took more than 5 ms`,
      transient: true,
    });
    // 5 ms of evaluation, plus compiling the expression and unwinding.
    expect(cpuMs).toBeLessThan(300);
  });

  it('an exhausted budget is an error even where CEL logic would absorb the failing branch', () => {
    const evaluator = new TemplateEvaluator({ costLimit: 100, timeLimitMs: 60_000 });
    const ten = '[1,2,3,4,5,6,7,8,9,10]';
    const heavy = `${ten}.all(a, ${ten}.all(b, ${ten}.all(c, a + b + c > 0)))`;
    expect(() => evaluator.evaluate(FIELD, `(${heavy} || true) ? 'a' : 'b'`, inputs())).toThrow(
      `${FIELD}: cost limit exceeded: more than 100 comprehension iterations`,
    );
    // Each evaluation has its own budget: the next one starts afresh.
    expect(evaluator.evaluate(FIELD, "[1,2,3].exists(x, x == 2) ? 'yes' : 'no'", inputs())).toBe('yes');
  });

  it('a concurrent timer keeps firing while bad expressions are evaluated one after another', async () => {
    const gaps: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }, 1);
    const durations: number[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        durations.push(timed(() => new TemplateEvaluator().evaluate(FIELD, nested(9), inputs())).wallMs);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    } finally {
      clearInterval(timer);
    }
    expect(gaps.length).toBeGreaterThanOrEqual(20);
    // Each evaluation holds the loop until 1,000 iterations or 50 ms of CPU (more wall time on a busy machine).
    expect(Math.max(...durations)).toBeLessThan(1000);
  });
});
