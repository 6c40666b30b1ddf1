/**
 * Schemas for untrusted input, with zod (v4): one library for the viewer's IPC table, the bridge's rosbridge message
 * checks, the robot config file and the config range checks. Chosen over valibot (smaller bundles, same idea, but a
 * younger and less used API) and TypeBox + ajv (JSON Schema first, two libraries and a compile step): zod infers the
 * TypeScript type from the schema, so one table is both the check and the type; its strict objects look up keys in a
 * Set, so prototype names (`__proto__`, `constructor`, `toString`…) are refused like any unknown key; and
 * `z.toJSONSchema` turns a schema into the JSON Schema a recording channel declares.
 *
 * This file is imported by the browser renderer too: no Node imports here.
 */
import { z } from 'zod';

export { z };

function pathOf(root: string, p: readonly PropertyKey[]): string {
  let s = root;
  for (const k of p) s += typeof k === 'number' ? `[${k}]` : `.${String(k)}`;
  return s;
}

/** One line describing zod's first issue, naming the offending path under `root` (e.g. `payload.seed must be ≥ 0`). */
export function issueLine(err: z.ZodError, root = 'value'): string {
  const i = err.issues[0];
  if (!i) return `${root} is invalid`;
  const at = pathOf(root, i.path);
  switch (i.code) {
    case 'unrecognized_keys': return `${at}.${i.keys[0]} is not an allowed field`;
    case 'invalid_type': {
      const input = (i as { input?: unknown }).input;
      if (input === undefined && i.path.length > 0) return `${at} is required`;
      if (i.expected === 'int') return `${at} must be an integer`;
      if (i.expected === 'number') return `${at} must be a finite number`;
      return `${at} must be ${/^[aeiou]/.test(i.expected) ? 'an' : 'a'} ${i.expected}`;
    }
    case 'too_small':
      if (i.origin === 'string') return `${at} is shorter than ${i.minimum} characters`;
      if (i.origin === 'array') return `${at} has fewer than ${i.minimum} elements`;
      return `${at} must be ${i.inclusive ? '≥' : '>'} ${i.minimum}`;
    case 'too_big':
      if (i.origin === 'string') return `${at} is longer than ${i.maximum} characters`;
      if (i.origin === 'array') return `${at} has more than ${i.maximum} elements`;
      return `${at} must be ${i.inclusive ? '≤' : '<'} ${i.maximum}`;
    case 'invalid_format': return `${at} has an invalid format`;
    case 'invalid_value': return `${at} must be one of ${i.values.map(String).join(', ')}`;
    default: {
      const msg = i.message.split('\n')[0]!;
      return /^(must|is) /.test(msg) ? `${at} ${msg}` : `${at}: ${msg}`;
    }
  }
}

/** Parse `value` with `schema`; throws a one-line Error (prefixed by `prefix` when given) naming the offending path. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, root = 'value', prefix = ''): z.infer<S> {
  const r = schema.safeParse(value, { reportInput: true });
  if (!r.success) throw new Error(prefix + issueLine(r.error, root));
  return r.data;
}

/** `null` when `value` passes `schema`, else the one-line reason. */
export function checkWith(schema: z.ZodType, value: unknown, root = 'value'): string | null {
  const r = schema.safeParse(value, { reportInput: true });
  return r.success ? null : issueLine(r.error, root);
}
