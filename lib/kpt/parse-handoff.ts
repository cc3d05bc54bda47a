// Parses handed from one step of a reconcile to the next. The merge parses its output files to add
// merge keys and the render parses the same bytes again moments later; a step that is done with a
// parse it made of some bytes (and will not change it) offers it here, and the next reader of those
// bytes takes it instead of parsing. Each offer is taken at most once, so the taker owns the nodes.
import { createHash } from 'node:crypto';
import type { SourceDocument } from './yaml.ts';

// Between the offer and the take other variants' merges run (renders go two at a time, merges do
// not wait for them), so in a large fleet an offer can be dropped before its render comes; that
// render parses. More offers would hold more parsed packages: at N = 300, 256 offers are taken for
// about a third of the render's files.
const LIMIT = 256;
const offers = new Map<string, readonly SourceDocument[]>();

/** The key of a file's content, shared with the caches that are keyed by content alone. */
export const contentKey = (content: Buffer): string => createHash('sha1').update(content).digest('base64');

/** Offers the documents `parseDocuments` gave for `content`; the caller must not use them again. */
export function offerParse(key: string, documents: readonly SourceDocument[]): void {
  offers.delete(key);
  offers.set(key, documents);
  if (offers.size > LIMIT) offers.delete(offers.keys().next().value!);
}

/** The documents offered for the content with this key, once; undefined when none were. */
export function takeParse(key: string): readonly SourceDocument[] | undefined {
  const documents = offers.get(key);
  offers.delete(key);
  return documents;
}
