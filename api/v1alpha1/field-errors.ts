// Field errors in the shape and wording of Kubernetes' field.Error, so that a message always names
// the field path it is about.

export type FieldErrorType =
  'Required' | 'Invalid' | 'NotSupported' | 'Forbidden' | 'Duplicate' | 'TooLong' | 'Unknown';

export interface FieldError {
  field: string;
  type: FieldErrorType;
  /** Detail, without the field path. */
  detail?: string;
  value?: unknown;
  /** For NotSupported: the values that are allowed. */
  supported?: readonly string[];
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

export function formatFieldError(e: FieldError): string {
  const tail = e.detail ? `: ${e.detail}` : '';
  switch (e.type) {
    case 'Required':
      return `${e.field}: Required value${tail}`;
    case 'Invalid':
      return `${e.field}: Invalid value: ${show(e.value)}${tail}`;
    case 'NotSupported':
      return `${e.field}: Unsupported value: ${show(e.value)}: supported values: ${(e.supported ?? []).map((v) => show(v)).join(', ')}`;
    case 'Forbidden':
      return `${e.field}: Forbidden${tail}`;
    case 'Duplicate':
      return `${e.field}: Duplicate value: ${show(e.value)}${tail}`;
    case 'TooLong':
      return `${e.field}: Too long${tail}`;
    case 'Unknown':
      return `${e.field}: unknown field${tail}`;
  }
}

export const required = (field: string, detail?: string): FieldError => ({ field, type: 'Required', detail });
export const invalid = (field: string, value: unknown, detail: string): FieldError => ({
  field,
  type: 'Invalid',
  value,
  detail,
});
export const notSupported = (field: string, value: unknown, supported: readonly string[]): FieldError => ({
  field,
  type: 'NotSupported',
  value,
  supported,
});
export const forbidden = (field: string, detail: string): FieldError => ({ field, type: 'Forbidden', detail });

/** `spec.targets` + 3 → `spec.targets[3]`; `spec.labels` + "a.b" → `spec.labels[a.b]` */
export function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${key}]`;
}
