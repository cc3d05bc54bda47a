import { describe, expect, it } from '@jest/globals';
import { contentKey, offerParse, takeParse } from './parse-handoff.ts';
import { parseDocuments } from './yaml.ts';

describe('parse hand-off', () => {
  it('gives an offered parse to one reader of the same bytes, once', () => {
    const content = Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: handed\n');
    const documents = parseDocuments(content.toString('utf8'));
    offerParse(contentKey(content), documents);
    expect(takeParse(contentKey(Buffer.from('apiVersion: v1\nkind: ConfigMap\n')))).toBeUndefined();
    expect(takeParse(contentKey(Buffer.from(content)))).toBe(documents);
    expect(takeParse(contentKey(content))).toBeUndefined();
  });
});
