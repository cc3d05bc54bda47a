// Where a V8 heap snapshot's memory is: self sizes summed by kind (constructor name for objects,
// the node type for strings, code and the rest), largest first. For the heap analysis of
// docs/benchmarks.md; snapshots come from BENCH_HEAP_SNAPSHOT_MIB (bench/lib/fleet-pass.ts).
//
//   node bench/lib/heap-summary.ts FILE.heapsnapshot [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapKind {
  kind: string;
  count: number;
  bytes: number;
}

export function summarizeHeap(snapshot: Snapshot): { totalBytes: number; kinds: HeapKind[] } {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const kinds = new Map<string, HeapKind>();
  let totalBytes = 0;
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    const bytes = snapshot.nodes[i + sizeAt]!;
    const kind =
      type === 'object' || type === 'closure' ? `${type} ${snapshot.strings[snapshot.nodes[i + nameAt]!]}` : type;
    const entry = kinds.get(kind) ?? { kind, count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += bytes;
    kinds.set(kind, entry);
    totalBytes += bytes;
  }
  return { totalBytes, kinds: [...kinds.values()].sort((a, b) => b.bytes - a.bytes) };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' } },
  });
  const { totalBytes, kinds } = summarizeHeap(JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Snapshot);
  const mib = (b: number) => (b / 2 ** 20).toFixed(1).padStart(8);
  console.log(`${mib(totalBytes)} MiB in all`);
  for (const k of kinds.slice(0, Number(values.top)))
    console.log(`${mib(k.bytes)} MiB ${String(k.count).padStart(9)}  ${k.kind}`);
}
