// Just enough of the Prometheus text exposition format for a benchmark that scrapes `/metrics`:
// samples with their labels, a sum over the series matching some labels, and histogram_quantile
// computed the way Prometheus does it (linear within the bucket the rank falls in).

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (!match) continue; // blank, # HELP, # TYPE
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL))
      labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the series named `name` whose labels include `labels` (PromQL `sum(name{labels})`). */
export function sumOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const s of samples)
    if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
  return total;
}

/**
 * `histogram_quantile(q, name_bucket)` over the cumulative buckets of one histogram (summed over
 * its other labels). NaN without observations; the highest finite bound when the rank falls in +Inf.
 */
export function histogramQuantile(q: number, samples: Sample[], name: string): number {
  const byBound = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || s.labels.le === undefined) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byBound.set(le, (byBound.get(le) ?? 0) + s.value);
  }
  const buckets = [...byBound].sort(([a], [b]) => a - b);
  const count = buckets.at(-1)?.[1] ?? 0;
  if (!count || buckets.at(-1)![0] !== Infinity) return NaN;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const [le, cumulative] of buckets) {
    if (cumulative >= rank) {
      if (le === Infinity) return lower;
      return lower + ((le - lower) * (rank - below)) / (cumulative - below || 1);
    }
    lower = le;
    below = cumulative;
  }
  return lower;
}
