import fc from 'fast-check';
import { anyJson, hostileNumber, hostileString, idOf, numericText, type RefFamily } from './fuzz-values.ts';

/**
 * Request parts generated from the OpenAPI document Herald serves at
 * /docs: every path, method, parameter and request body it lists, so a new
 * route is fuzzed without touching the suite.
 */

export type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
};

interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
}

export interface Operation {
  method: string;
  /** OpenAPI path template, e.g. `/api/chapters/{id}`. */
  path: string;
  parameters: OpenApiParameter[];
  /** Request body schemas by media type. */
  bodies: Record<string, JsonSchema>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: OpenApiParameter[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every operation of the document, with `$ref`s resolved. */
export function operationsOf(doc: OpenApiDocument): Operation[] {
  const resolve = (schema: JsonSchema | undefined, depth = 0): JsonSchema => {
    if (!schema || depth > 8) return {};
    if (schema.$ref) return resolve(doc.components?.schemas?.[schema.$ref.replace('#/components/schemas/', '')], depth + 1);
    const out: JsonSchema = { ...schema };
    if (schema.properties) out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, resolve(v, depth + 1)]));
    if (schema.items) out.items = resolve(schema.items, depth + 1);
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const) if (schema[key]) out[key] = schema[key]!.map((s) => resolve(s, depth + 1));
    return out;
  };
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        parameters: (op.parameters ?? []).map((p) => ({ ...p, schema: resolve(p.schema) })),
        bodies: Object.fromEntries(Object.entries(op.requestBody?.content ?? {}).map(([type, c]) => [type, resolve(c.schema)])),
      })),
  );
}

/** What a field's name says it holds: ids of which family, a manuscript, an op id. */
function familyOf(path: string, name: string): RefFamily | 'any' {
  if (name === 'user_id') return 'users';
  if (name !== 'id' && !name.endsWith('_id')) return 'any';
  const owner = name === 'id' ? /\/(\w+)\/\{id\}/.exec(path)?.[1] : name.replace(/_id$/, 's');
  return ({ documents: 'documents', chapters: 'chapters', jobs: 'jobs', notifications: 'notifications', users: 'users' } as const)[owner ?? ''] ?? 'any';
}

const MANUSCRIPTS = [
  '# Chapter 1\n\nMara walked to the harbour.\n\n# Chapter 2\n\nTomas waited.',
  'INT. HOUSE - NIGHT\n\nMARA\nWho is there?\n\nEXT. HARBOUR - DAY\n\nTOMAS\nOnly me.',
  'Chapter One begins\n\nText.\n\nCHAPTER Two\n\nMore text.',
  'Just a paragraph without any heading at all.',
  '## Only a heading',
];

/** Manuscript-like text: well-formed, hostile, or a heading wrapped round something hostile. */
const manuscript = fc.oneof(
  { arbitrary: fc.constantFrom(...MANUSCRIPTS), weight: 4 },
  { arbitrary: hostileString, weight: 3 },
  { arbitrary: hostileString.map((s) => `# ${s}\n\nText.\n\n${s}`), weight: 1 },
  { arbitrary: hostileString.map((s) => `INT. ${s}\n\n${s.toUpperCase()}\nLine.`), weight: 1 },
);

/** Values around a numeric bound: at it, one past it, and far past it. */
function numberFor(schema: JsonSchema): fc.Arbitrary<number> {
  const min = schema.minimum ?? schema.exclusiveMinimum;
  const max = schema.maximum ?? schema.exclusiveMaximum;
  const edges = [min, max].filter((v): v is number => v !== undefined).flatMap((v) => [v - 1, v, v + 1]);
  const lawful = fc.integer({ min: Math.max(min ?? 0, -1e6), max: Math.min(max ?? 1e6, 1e6) });
  return fc.oneof({ arbitrary: lawful, weight: 3 }, { arbitrary: edges.length ? fc.constantFrom(...edges) : lawful, weight: 2 }, { arbitrary: hostileNumber, weight: 2 });
}

function stringFor(schema: JsonSchema, path: string, name: string): fc.Arbitrary<string> {
  if (schema.enum?.length) {
    const options = schema.enum.map(String);
    return fc.oneof({ arbitrary: fc.constantFrom(...options), weight: 6 }, { arbitrary: fc.constantFrom(...options).map((o) => o.toUpperCase()), weight: 1 }, { arbitrary: hostileString, weight: 1 });
  }
  if (schema.format === 'uuid' || name === 'user_id' || name === 'id' || (name.endsWith('_id') && name !== 'op_id')) return idOf(familyOf(path, name));
  if (name === 'content') return manuscript;
  if (name === 'op_id') return fc.oneof(fc.constantFrom('op-1', 'op-2', 'op-3'), fc.uuid(), hostileString);
  const edges = [schema.minLength, schema.maxLength].filter((v): v is number => v !== undefined).flatMap((v) => [v - 1, v, v + 1]).filter((v) => v >= 0);
  return fc.oneof(
    { arbitrary: fc.string({ minLength: Math.min(schema.minLength ?? 0, 20), maxLength: Math.min(schema.maxLength ?? 40, 40) }), weight: 3 },
    { arbitrary: edges.length ? fc.constantFrom(...edges).map((n) => 'x'.repeat(n)) : fc.constant('x'), weight: 1 },
    { arbitrary: hostileString, weight: 2 },
  );
}

/** Marks a property the case leaves out. */
export const ABSENT = Symbol('absent');

/** A value for a schema: usually of its type and near its bounds, sometimes of any type at all. */
export function valueFor(schema: JsonSchema, path: string, name = '', depth = 0): fc.Arbitrary<unknown> {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((s) => valueFor(s, path, name, depth + 1)));
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const type = types.find((t) => t !== 'null') ?? (schema.properties ? 'object' : undefined);
  const typed = ((): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'string':
        return schema.format === 'binary' ? manuscript : stringFor(schema, path, name);
      case 'integer':
      case 'number':
        return numberFor(schema);
      case 'boolean':
        return fc.boolean();
      case 'array':
        return fc.oneof(
          fc.array(valueFor(schema.items ?? {}, path, name, depth + 1), { maxLength: 5 }),
          fc.constant(Array.from({ length: 20_000 }, () => (schema.items?.enum?.[0] ?? 'x'))),
        );
      case 'object':
        return depth > 3 ? fc.constant({}) : objectFor(schema, path, depth);
      default:
        return anyJson;
    }
  })();
  return fc.oneof({ arbitrary: typed, weight: 5 }, { arbitrary: anyJson, weight: 1 }, ...(types.includes('null') ? [fc.constant(null)] : []));
}

/** An object whose properties are each lawful, hostile or absent, sometimes with extra keys. */
function objectFor(schema: JsonSchema, path: string, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const props = Object.entries(schema.properties ?? {});
  const fields = props.map(([key, s]) =>
    fc.oneof({ arbitrary: valueFor(s, path, key, depth + 1), weight: 6 }, { arbitrary: fc.constant(ABSENT), weight: 1 }).map((v) => [key, v] as const),
  );
  const extra = fc.option(fc.dictionary(fc.constantFrom('extra', 'constructor', 'toString', '__proto__', 'role', 'owner_id', 'version'), anyJson, { maxKeys: 2 }), { nil: undefined, freq: 6 });
  return fc.tuple(fc.tuple(...fields), extra).map(([entries, more]) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) if (v !== ABSENT) out[k] = v;
    // defineProperty, so "__proto__" becomes a key the JSON carries rather than a prototype.
    for (const [k, v] of Object.entries(more ?? {})) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    return out;
  });
}

/** A path or query parameter's value, as the text that goes into the URL. */
export function parameterText(param: OpenApiParameter, path: string): fc.Arbitrary<string> {
  const schema = param.schema ?? {};
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.includes('integer') || types.includes('number')) return fc.oneof(numberFor(schema).map(String), numericText);
  return stringFor(schema, path, param.name).map(String);
}

