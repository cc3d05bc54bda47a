// The exposition parser and histogram_quantile of the metrics-plot benchmark.
import { describe, expect, it } from '@jest/globals';
import { histogramQuantile, parseExposition, sumOf } from './prom-text.ts';

const text = `# HELP workqueue_depth Current depth of workqueue
# TYPE workqueue_depth gauge
workqueue_depth{name="packagevariant",controller="packagevariant"} 7
workqueue_depth{name="packagevariantset",controller="packagevariantset"} 2
packagevariant_drafts_created_total{kind="clone"} 30
packagevariant_drafts_created_total{kind="upgrade"} 12
packagevariant_variants_outdated 4
lag_bucket{le="1"} 2
lag_bucket{le="5"} 6
lag_bucket{le="15"} 10
lag_bucket{le="+Inf"} 10
lag_sum 31
lag_count 10
odd{path="a \\"b\\", c"} 1
`;

describe('prom-text', () => {
  const samples = parseExposition(text);

  it('parses names, labels and values and sums the series that match', () => {
    expect(sumOf(samples, 'workqueue_depth', { name: 'packagevariant' })).toBe(7);
    expect(sumOf(samples, 'workqueue_depth')).toBe(9);
    expect(sumOf(samples, 'packagevariant_drafts_created_total', { kind: 'upgrade' })).toBe(12);
    expect(sumOf(samples, 'packagevariant_variants_outdated')).toBe(4);
    expect(samples.find((s) => s.name === 'odd')!.labels.path).toBe('a "b", c');
  });

  it('computes histogram_quantile as Prometheus does', () => {
    expect(histogramQuantile(0.5, samples, 'lag')).toBeCloseTo(1 + (4 * 3) / 4); // rank 5 in (1, 5]
    expect(histogramQuantile(0.1, samples, 'lag')).toBeCloseTo(0.5); // rank 1 in (0, 1]
    expect(histogramQuantile(0.9, samples, 'lag')).toBeCloseTo(5 + (10 * 3) / 4); // rank 9 in (5, 15]
    expect(histogramQuantile(0.5, [], 'lag')).toBeNaN();
    const inf = parseExposition('h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 4\n');
    expect(histogramQuantile(0.9, inf, 'h')).toBe(1);
  });
});
