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

/** Where integers overflow: PostgreSQL's integer and bigint, and JavaScript's safe integers. */
const STORAGE_EDGES = [2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 63];

/** Values around a numeric bound: at it, one past it, where storage overflows, and far past it. */
function numberFor(schema: JsonSchema): fc.Arbitrary<number> {
  const min = schema.minimum ?? schema.exclusiveMinimum;
  const max = schema.maximum ?? schema.exclusiveMaximum;
  const edges = [min, max].filter((v): v is number => v !== undefined).flatMap((v) => [v - 1, v, v + 1]);
  return fc.oneof(
    { arbitrary: lawfulNumber(schema), weight: 3 },
    { arbitrary: fc.constantFrom(...edges, ...STORAGE_EDGES), weight: 3 },
    { arbitrary: hostileNumber, weight: 1 },
  );
}

function lawfulNumber(schema: JsonSchema): fc.Arbitrary<number> {
  const min = Math.max(schema.minimum ?? 0, -1e6);
  return fc.integer({ min, max: Math.min(schema.maximum ?? min + 5, min + 1e6) });
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

/** A value a well-behaved client would send: of the type, within the bounds, ids of real objects. */
export function lawfulFor(schema: JsonSchema, path: string, name = '', depth = 0): fc.Arbitrary<unknown> {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.length) return lawfulFor(alternatives[0]!, path, name, depth + 1);
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  switch (types.find((t) => t !== 'null') ?? (schema.properties ? 'object' : undefined)) {
    case 'string':
      if (schema.enum?.length) return fc.constantFrom(...schema.enum.map(String));
      if (schema.format === 'uuid' || name === 'user_id' || name === 'id' || (name.endsWith('_id') && name !== 'op_id')) return lawfulId(familyOf(path, name));
      if (name === 'content' || schema.format === 'binary') return fc.constantFrom(...MANUSCRIPTS);
      if (name === 'op_id') return fc.constantFrom('op-1', 'op-2', 'op-3');
      return fc.string({ minLength: Math.max(1, schema.minLength ?? 1), maxLength: Math.min(schema.maxLength ?? 20, 20) }).filter((v) => v.trim().length > 0);
    case 'integer':
    case 'number':
      return lawfulNumber(schema);
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(lawfulFor(schema.items ?? {}, path, name, depth + 1), { maxLength: 3 });
    case 'object':
      return depth > 3 ? fc.constant({}) : fc.record(Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, s]) => [k, lawfulFor(s, path, k, depth + 1)])));
    default:
      return fc.constant(null);
  }
}

/** An id of a real object of the family (the caller's or another user's), as sent or upper-cased. */
const lawfulId = (family: RefFamily | 'any') => idOf(family, { lawful: true });

/**
 * An object as a fuzzer should send it: most often a lawful one with one
 * property hostile or missing (so the hostile value reaches deep into the
 * route), sometimes every property free, sometimes extra keys.
 */
function objectFor(schema: JsonSchema, path: string, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const props = Object.entries(schema.properties ?? {});
  const lawful = props.map(([key, s]) => lawfulFor(s, path, key, depth + 1));
  const free = props.map(([key, s]) => fc.oneof({ arbitrary: valueFor(s, path, key, depth + 1), weight: 6 }, { arbitrary: fc.constant(ABSENT), weight: 1 }));
  const oneHostile = props.length === 0 ? fc.constant([] as unknown[]) : fc.nat({ max: props.length - 1 }).chain((target) =>
    fc.tuple(...props.map(([key, s], i) => (i === target ? fc.oneof(valueFor(s, path, key, depth + 1), fc.constant(ABSENT)) : lawful[i]!))),
  );
  const values = fc.oneof({ arbitrary: oneHostile, weight: 6 }, { arbitrary: fc.tuple(...free), weight: 3 }, { arbitrary: fc.tuple(...lawful), weight: 1 });
  const extra = fc.option(fc.dictionary(fc.constantFrom('extra', 'constructor', 'toString', '__proto__', 'role', 'owner_id', 'version'), anyJson, { maxKeys: 2 }), { nil: undefined, freq: 6 });
  return fc.tuple(values, extra).map(([entries, more]) => {
    const out: Record<string, unknown> = {};
    entries.forEach((v, i) => {
      if (v !== ABSENT) out[props[i]![0]] = v;
    });
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


/** The one id a lawful request aims at in each family: the caller's own object. */
const OWN: Record<RefFamily | 'any', string> = {
  documents: '⟨ownBook⟩', chapters: '⟨ownBookChapter⟩', jobs: '⟨ownJob⟩', notifications: '⟨ownNotification⟩', users: '⟨userB⟩', any: '⟨ownBook⟩',
};

/** Fixed probes for one field: its bounds, where storage overflows, the wrong types, and its absence. */
export function probesFor(schema: JsonSchema, path: string, name: string): unknown[] {
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const type = types.find((t) => t !== 'null');
  const wrongTypes = [null, true, [], {}];
  if (type === 'integer' || type === 'number') {
    const bounds = [schema.minimum, schema.maximum].filter((v): v is number => v !== undefined).flatMap((v) => [v - 1, v + 1]);
    return [...bounds, ...STORAGE_EDGES, -1, 0, 1.5, '1', ...wrongTypes, ABSENT];
  }
  if (type === 'string' && schema.enum?.length) return ['', String(schema.enum[0]).toUpperCase(), 'other', 1, ...wrongTypes, ABSENT];
  if (type === 'string' && (schema.format === 'uuid' || name === 'id' || (name.endsWith('_id') && name !== 'op_id'))) {
    return [OWN[familyOf(path, name)].replace('⟩', ':upper⟩'), '00000000-0000-4000-8000-000000000000', 'not-a-uuid', '', 'a\u0000b', 1, ...wrongTypes, ABSENT];
  }
  if (type === 'string') {
    const past = schema.maxLength !== undefined ? ['x'.repeat(schema.maxLength + 1)] : [];
    return ['', ' ', '\u0000', 'a\u0000b', '\uD800', ...past, 'a'.repeat(64 * 1024), 1, ...wrongTypes, ABSENT];
  }
  if (type === 'array') return [[], Array.from({ length: 20_000 }, () => schema.items?.enum?.[0] ?? 'x'), [null], 'x', null, ABSENT];
  return [null, '', 1, ABSENT];
}

/** A lawful request's value for a field, fixed: the caller's own ids, the first enum value, small numbers, a manuscript. */
export function lawfulExample(schema: JsonSchema, path: string, name: string): unknown {
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  switch (types.find((t) => t !== 'null') ?? (schema.properties ? 'object' : undefined)) {
    case 'string':
      if (schema.enum?.length) return String(schema.enum[0]);
      if (schema.format === 'uuid' || name === 'id' || (name.endsWith('_id') && name !== 'op_id')) return OWN[familyOf(path, name)];
      return name === 'content' ? MANUSCRIPTS[0] : `fuzz ${name}`;
    case 'integer':
    case 'number':
      return Math.max(schema.minimum ?? 1, 1);
    case 'boolean':
      return true;
    case 'array':
      return schema.items ? [lawfulExample(schema.items, path, name)] : [];
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, s]) => [k, lawfulExample(s, path, k)]));
    default:
      return null;
  }
}
