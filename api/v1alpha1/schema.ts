// Building blocks for the API schemas. Each schema is an OpenAPI v3 structural schema (what a CRD
// accepts) built with TypeBox, so the TypeScript types are inferred from the very object the CRDs
// are generated from: one source of truth.
import { Type, type TSchema, type TUnsafe } from '@sinclair/typebox';

export { Type };
export type { Static } from '@sinclair/typebox';

/** A string limited to `values`; typed as their union. */
export function StringEnum<const T extends readonly string[]>(values: T, description?: string): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });
}

/** map[string]string */
export function StringMap(description?: string): TUnsafe<Record<string, string>> {
  return Type.Unsafe<Record<string, string>>({
    type: 'object',
    additionalProperties: { type: 'string' },
    ...(description ? { description } : {}),
  });
}

/** An object with free-form content that the API server keeps as is. */
export function FreeForm<T>(description?: string): TUnsafe<T> {
  return Type.Unsafe<T>({
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    ...(description ? { description } : {}),
  });
}

export function Optional<T extends TSchema>(schema: T) {
  return Type.Optional(schema);
}

/** Plain JSON (no TypeBox symbols) as it goes into a CRD. */
export function toOpenAPI(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}
