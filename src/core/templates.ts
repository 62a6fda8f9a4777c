import Handlebars from 'handlebars';

/**
 * Runbook inputs are Handlebars templates rendered in strict mode: a variable that does not exist
 * is an error naming it and the input, never an empty string. Output is not HTML-escaped (it goes
 * to Zoom and the timeline, not a web page). Each render uses an isolated Handlebars environment
 * with only the built-in helpers minus `log` (templates have no side effects), no partials, and
 * prototype access off (Handlebars' default). The context is copied onto objects without a
 * prototype, so `{{constructor}}`, `{{__proto__}}` or `{{toString}}` are undefined variables
 * (errors) rather than inherited members rendered as "".
 */
const engine = Handlebars.create();
engine.unregisterHelper('log');
const COMPILE_OPTIONS = { strict: true, noEscape: true, knownHelpersOnly: true, knownHelpers: { log: false } } as const;
/** Deeper context values are passed as they are (a runbook never reaches that far). */
const MAX_CONTEXT_DEPTH = 64;

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export type TemplateContext = Record<string, unknown>;

/** Renders every string inside `value` (objects and arrays are walked); `where` names the input. */
export function renderValue<T>(value: T, context: TemplateContext, where: string): T {
  if (typeof value === 'string') return renderString(value, context, where) as T;
  if (Array.isArray(value)) return value.map((v, i) => renderValue(v, context, `${where}[${i}]`)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, renderValue(v, context, `${where}.${k}`)]),
    ) as T;
  }
  return value;
}

export function renderString(template: string, context: TemplateContext, where: string): string {
  if (!template.includes('{{')) return template;
  let compiled: HandlebarsTemplateDelegate;
  try {
    compiled = engine.compile(lenientHelperParams(engine.parse(template)), COMPILE_OPTIONS);
    return compiled(ownPropertiesOnly(context));
  } catch (err) {
    throw new TemplateError(`${where}: ${explain(template, (err as Error).message)}`);
  }
}

type Node = hbs.AST.Node & Record<string, unknown>;

/**
 * Strict mode stops at a missing object inside a helper's argument (`{{#if Activity.owner.email}}`
 * with no owner: "Cannot read properties of undefined"), where the helper would have said no. Such
 * paths become `lookup` chains, which yield undefined instead; `{{Activity.owner.email}}` on its
 * own is still an error naming the variable.
 */
function lenientHelperParams(program: hbs.AST.Program): hbs.AST.Program {
  const lenient = (param: Node): Node => {
    const path = param as unknown as hbs.AST.PathExpression;
    if (param.type !== 'PathExpression' || path.data || path.depth > 0 || path.parts.length < 2) return visit(param);
    const first: hbs.AST.PathExpression = { ...path, parts: [path.parts[0]], original: path.parts[0] };
    return path.parts.slice(1).reduce<Node>(
      (obj: Node, part: string) =>
        ({
          type: 'SubExpression',
          path: { ...path, parts: ['lookup'], original: 'lookup' },
          params: [obj, { type: 'StringLiteral', value: part, original: part, loc: path.loc }],
          hash: { type: 'Hash', pairs: [], loc: path.loc },
          loc: path.loc,
        }) as unknown as Node,
      first as unknown as Node,
    );
  };
  const visit = (node: Node): Node => {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'params' && Array.isArray(value)) node[key] = (value as Node[]).map(lenient);
      else if (key === 'pairs' && Array.isArray(value))
        for (const pair of value as Node[]) pair.value = lenient(pair.value as Node);
      else if (Array.isArray(value)) value.forEach((v) => v && typeof v === 'object' && visit(v as Node));
      else if (value && typeof value === 'object' && key !== 'loc') visit(value as Node);
    }
    return node;
  };
  return visit(program as unknown as Node) as unknown as hbs.AST.Program;
}

/**
 * A copy of `value` whose objects have no prototype, so only own properties resolve. They still
 * read as "[object Object]" in text (Handlebars' messages, `{{fields}}`), through a symbol key no
 * template path can name.
 */
function ownPropertiesOnly(value: unknown, depth = 0): unknown {
  if (!value || typeof value !== 'object' || depth > MAX_CONTEXT_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v) => ownPropertiesOnly(v, depth + 1));
  // fromEntries defines `__proto__` as an own key like any other; the prototype goes afterwards.
  const copy = Object.setPrototypeOf(
    Object.fromEntries(Object.entries(value).map(([k, v]) => [k, ownPropertiesOnly(v, depth + 1)])),
    null,
  ) as object;
  return Object.defineProperty(copy, Symbol.toPrimitive, { value: () => '[object Object]' });
}

/** Handlebars says `"titl" not defined in [object Object] - 1:11`; name the whole path instead. */
function explain(template: string, message: string): string {
  const missing = /"([^"]+)" not defined/.exec(message);
  if (!missing) return `invalid template "${template}": ${message.split('\n')[0]}`;
  let paths: string[] = [];
  try {
    paths = pathsIn(template);
  } catch {
    // A template nested too deep to walk: name the variable alone.
  }
  const full = paths.find((p) => p === missing[1] || p.endsWith(`.${missing[1]}`)) ?? missing[1];
  return `template variable "${full}" is not defined (template "${template}")`;
}

function pathsIn(template: string): string[] {
  const found: string[] = [];
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as { type?: string; original?: string };
    if (n.type === 'PathExpression' && typeof n.original === 'string') found.push(n.original);
    for (const v of Object.values(node)) {
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v === 'object') visit(v);
    }
  };
  visit(engine.parse(template));
  return found;
}
