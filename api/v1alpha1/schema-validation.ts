// Validates an object against an OpenAPI v3 structural schema the way the API server does for a
// CRD (types, required, enum, pattern, lengths, minimum), and reports unknown fields the way
// strict field validation (kubectl's default) does.
import { child, invalid, notSupported, required, type FieldError } from './field-errors.ts';

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  format?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

export function validateSchema(value: unknown, schema: object, path: string): FieldError[] {
  const errors: FieldError[] = [];
  visit(value, schema as Schema, path, errors);
  return errors;
}

function visit(value: unknown, schema: Schema, path: string, errors: FieldError[]): void {
  const actual = typeOf(value);
  if (schema.type && actual !== schema.type && !(schema.type === 'number' && actual === 'integer')) {
    // NaN and Infinity (YAML's .nan, .inf) have no JSON form: show them by name.
    const shown = typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
    errors.push(invalid(path, shown, `must be of type ${schema.type}, not ${actual}`));
    return;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    errors.push(notSupported(path, value, schema.enum.map(String)));
  }
  switch (actual) {
    case 'string':
      checkString(value as string, schema, path, errors);
      break;
    case 'integer':
    case 'number':
      if (actual === 'integer' && !Number.isSafeInteger(value)) {
        errors.push(invalid(path, value, 'must be an integer between -(2^53 - 1) and 2^53 - 1'));
      }
      if (schema.minimum !== undefined && (value as number) < schema.minimum) {
        errors.push(invalid(path, value, `must be greater than or equal to ${schema.minimum}`));
      }
      break;
    case 'array':
      if (schema.items) (value as unknown[]).forEach((item, i) => visit(item, schema.items!, child(path, i), errors));
      break;
    case 'object':
      checkObject(value as Record<string, unknown>, schema, path, errors);
      break;
  }
}

function checkString(value: string, schema: Schema, path: string, errors: FieldError[]): void {
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    errors.push(invalid(path, value, `should be at least ${schema.minLength} chars long`));
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    errors.push({ field: path, type: 'TooLong', detail: `may not be more than ${schema.maxLength} bytes` });
  }
  if (schema.pattern && !new RegExp(schema.pattern).test(value)) {
    errors.push(invalid(path, value, `should match '${schema.pattern}'`));
  }
  if (schema.format === 'date-time' && !RFC3339.test(value)) {
    errors.push(invalid(path, value, 'must be an RFC 3339 date-time'));
  }
}

function checkObject(value: Record<string, unknown>, schema: Schema, path: string, errors: FieldError[]): void {
  for (const name of schema.required ?? []) {
    if (value[name] === undefined || value[name] === null) errors.push(required(child(path, name)));
  }
  for (const [key, item] of Object.entries(value)) {
    // Own properties only: `__proto__` or `constructor` in the input is an unknown field, not Object's.
    const property = schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
    if (property) {
      if (item !== null) visit(item, property, child(path, key), errors);
    } else if (typeof schema.additionalProperties === 'object') {
      visit(item, schema.additionalProperties, child(path, key), errors);
    } else if (schema.properties && !schema['x-kubernetes-preserve-unknown-fields']) {
      errors.push({ field: child(path, key), type: 'Unknown' });
    }
  }
}

/**
 * The value without the null fields the schema knows, as the API server prunes them before
 * validation and storage (a null `spec.upstream` is no upstream, not a null object to read).
 */
export function pruneNulls(value: unknown, schema: object): unknown {
  const s = schema as Schema;
  if (Array.isArray(value)) return s.items ? value.map((item) => pruneNulls(item, s.items!)) : value;
  if (typeOf(value) !== 'object') return value;
  const entries: [string, unknown][] = [];
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const property =
      (s.properties && Object.hasOwn(s.properties, key) ? s.properties[key] : undefined) ??
      (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
    if (!property) entries.push([key, item]);
    else if (item !== null) entries.push([key, pruneNulls(item, property)]);
  }
  return Object.fromEntries(entries);
}
