import { readFileSync } from 'node:fs';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * Contract checks against Zoom's published OpenAPI 3.0 documents: find the operation for a
 * concrete request, then validate JSON bodies with ajv. Only what a contract test needs.
 */

type Json = Record<string, unknown>;

/** Problems found in a body, one readable line each; empty when the body matches. */
export type BodyValidator = (body: unknown) => string[];

export interface SpecOperation {
  method: string;
  /** The spec's path template, e.g. /users/{userId}/meetings (no /v2 prefix). */
  template: string;
  /** e.g. "POST /users/{userId}/meetings (meetingCreate)", used in every message. */
  label: string;
  /** Validator for the JSON request body, or undefined when the spec defines none. */
  request(): BodyValidator | undefined;
  /** Validator for the JSON response body of `status`, or undefined when the spec has no JSON schema for it. */
  response(status: number): BodyValidator | undefined;
  /** Whether the spec lists `status` for this operation at all (exactly, as 4XX, or as default). */
  documents(status: number): boolean;
}

/** OpenAPI-only keywords (plus Zoom's own `extensions`) that mean nothing to JSON Schema. */
const DROPPED_KEYWORDS = new Set([
  'example',
  'examples',
  'extensions',
  'discriminator',
  'xml',
  'externalDocs',
  'deprecated',
  'readOnly',
  'writeOnly',
]);
/** Keywords whose value is a map of name -> schema; the names must not be mistaken for keywords. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs']);
/** Keywords whose value is a schema, or a list of schemas. */
const SUBSCHEMAS = new Set(['items', 'additionalProperties', 'not', 'allOf', 'anyOf', 'oneOf']);

export class OpenApiSpecs {
  private readonly ajv: Ajv;
  private readonly docs: Json[];
  private readonly cache = new Map<object, ValidateFunction>();

  /** Loads the given OpenAPI JSON files; an operation is looked up in each in turn. */
  constructor(files: string[]) {
    this.docs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Json);
    // strict: false because Zoom's schemas carry keywords JSON Schema does not know (e.g. `minimum` on strings).
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv); // also brings OpenAPI's int32, int64, float, double, byte, binary, password
  }

  /** The operation for a concrete request, e.g. ('POST', '/v2/users/abc@x.com/meetings'). Throws when the spec has none. */
  operation(method: string, concretePath: string): SpecOperation {
    const m = method.toLowerCase();
    const segments = concretePath.replace(/^\/v2(?=\/)/, '').split('/');
    let best: { doc: Json; template: string; op: Json; literals: number } | undefined;
    for (const doc of this.docs) {
      for (const [template, item] of Object.entries(doc.paths as Record<string, Json>)) {
        const op = item[m] as Json | undefined;
        const literals = op ? matchTemplate(template, segments) : -1;
        // Prefer the template with the most literal segments: /meetings/templates over /meetings/{meetingId}.
        if (op && literals >= 0 && (!best || literals > best.literals)) best = { doc, template, op, literals };
      }
    }
    if (!best) throw new Error(`The Zoom OpenAPI spec has no operation for ${method.toUpperCase()} ${concretePath}`);
    const { doc, template, op } = best;
    const label = `${method.toUpperCase()} ${template}${op.operationId ? ` (${String(op.operationId)})` : ''}`;
    const responses = (resolve(doc, op.responses) ?? {}) as Record<string, unknown>;
    const responseFor = (status: number): Json | undefined => {
      const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => k in responses);
      return key ? (resolve(doc, responses[key]) as Json) : undefined;
    };
    return {
      method: method.toUpperCase(),
      template,
      label,
      request: () => this.validator(doc, jsonSchemaOf(doc, resolve(doc, op.requestBody)), `${label} request body`),
      response: (status) => this.validator(doc, jsonSchemaOf(doc, responseFor(status)), `${label} response ${status}`),
      documents: (status) => responseFor(status) !== undefined,
    };
  }

  private validator(doc: Json, schema: unknown, what: string): BodyValidator | undefined {
    if (!schema || typeof schema !== 'object') return undefined;
    let validate = this.cache.get(schema);
    if (!validate) {
      validate = this.ajv.compile(this.toJsonSchema(doc, schema, new Set()) as Json);
      this.cache.set(schema, validate);
    }
    const v = validate;
    return (body) =>
      v(body)
        ? []
        : (v.errors ?? []).map(
            (e) => `${what}: ${e.instancePath || '(root)'} ${describe(e)} (got ${got(body, e.instancePath)})`,
          );
  }

  /** OpenAPI 3.0 schema -> JSON Schema ajv accepts: inline $refs, turn `nullable` into a null type, drop annotations. */
  private toJsonSchema(doc: Json, node: unknown, seen: Set<string>): unknown {
    if (!node || typeof node !== 'object') return node;
    if (Array.isArray(node)) return node.map((n) => this.toJsonSchema(doc, n, seen));
    const src = node as Json;
    if (typeof src.$ref === 'string') {
      // A recursive schema would inline forever; accept anything at the point it repeats.
      if (seen.has(src.$ref)) return {};
      return this.toJsonSchema(doc, resolve(doc, src), new Set([...seen, src.$ref]));
    }
    const out: Json = {};
    for (const [key, value] of Object.entries(src)) {
      if (DROPPED_KEYWORDS.has(key) || key.startsWith('x-') || key === 'nullable') continue;
      if (SCHEMA_MAPS.has(key) && value && typeof value === 'object') {
        out[key] = Object.fromEntries(
          Object.entries(value).map(([name, s]) => [name, this.toJsonSchema(doc, s, seen)]),
        );
      } else if (SUBSCHEMAS.has(key)) {
        out[key] = this.toJsonSchema(doc, value, seen);
      } else if (key === 'format' && !(typeof value === 'string' && this.ajv.formats[value])) {
        continue; // Zoom uses free-text formats ("Hex color code", "string"); an unknown format is documentation only.
      } else {
        out[key] = value;
      }
    }
    if (src.nullable === true) {
      if (typeof out.type === 'string') out.type = [out.type, 'null'];
      if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
    }
    return out;
  }
}

/** -1 when the template does not match, else how many literal (non-parameter) segments it has. */
function matchTemplate(template: string, segments: string[]): number {
  const parts = template.split('/');
  if (parts.length !== segments.length) return -1;
  let literals = 0;
  for (let i = 0; i < parts.length; i++) {
    if (/^\{[^}]+\}$/.test(parts[i])) {
      if (!segments[i]) return -1;
    } else if (parts[i] === safeDecode(segments[i])) {
      literals++;
    } else {
      return -1;
    }
  }
  return literals;
}

/** The application/json schema of a request body or response object, if any. */
function jsonSchemaOf(doc: Json, holder: unknown): unknown {
  const content = (holder as { content?: Record<string, { schema?: unknown }> } | undefined)?.content;
  const key = content && Object.keys(content).find((k) => /^application\/(.+\+)?json/.test(k));
  return key ? resolve(doc, content[key].schema) : undefined;
}

/** Follows a local `$ref` (#/components/...) to its target; other values come back as they are. */
function resolve(doc: Json, node: unknown): unknown {
  let current = node;
  for (let hops = 0; current && typeof current === 'object' && typeof (current as Json).$ref === 'string'; hops++) {
    const ref = (current as Json).$ref as string;
    if (!ref.startsWith('#/') || hops > 20) throw new Error(`Cannot resolve $ref ${ref}`);
    current = ref
      .slice(2)
      .split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((n, p) => (n as Json | undefined)?.[p], doc);
    if (current === undefined) throw new Error(`Dangling $ref ${ref}`);
  }
  return current;
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'enum') return `${e.message}: ${JSON.stringify(p.allowedValues)}`;
  if (e.keyword === 'additionalProperties') return `${e.message}: ${String(p.additionalProperty)}`;
  return e.message ?? e.keyword;
}

/** The offending value, short, so a failure shows what was sent without a debugger. */
function got(body: unknown, pointer: string): string {
  const value = pointer
    .split('/')
    .slice(1)
    .reduce<unknown>((n, p) => (n as Json | undefined)?.[p.replace(/~1/g, '/').replace(/~0/g, '~')], body);
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
