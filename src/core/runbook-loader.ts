import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { describeIssue } from './incident';
import { Runbook, runbookSchema } from './runbook';

const RUNBOOK_FILE = /\.(ya?ml|json)$/i;
/** The published JSON Schema sits beside the runbooks for editors; it is not a runbook. */
const SCHEMA_FILE = /\.schema\.json$/i;

/** One or more runbook files are invalid; each problem names file, line, step and field. */
export class RunbookError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid runbooks:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RunbookError';
  }
}

export interface LoadedRunbook {
  file: string;
  runbook: Runbook;
}

/**
 * Runbook files are small (the shipped ones are under 2 KiB). These bounds keep a hostile file from
 * exhausting the stack or holding the worker for minutes: validation time grows faster than size.
 */
export const MAX_RUNBOOK_BYTES = 64 * 1024;
/** Levels of flow collections (`[` / `{`); shipped runbooks use 3. */
export const MAX_FLOW_NESTING = 64;
/** Columns of indentation (block nesting), `- ` and `? ` markers included; shipped runbooks use 8. */
export const MAX_INDENT_COLUMNS = 100;
/** Problems reported per file. */
export const MAX_PROBLEMS = 50;

/** Parses and validates one runbook file (YAML, or JSON, which YAML reads too). */
export function parseRunbook(text: string, file: string): Runbook {
  if (Buffer.byteLength(text) > MAX_RUNBOOK_BYTES)
    throw new RunbookError([`${file}:1: the file is larger than ${MAX_RUNBOOK_BYTES} bytes; runbooks are small`]);
  // The YAML composer recurses per level of nesting: a file nested thousands deep would overflow
  // the stack, which V8 may turn into a fatal out-of-memory abort of the whole process (not an
  // exception). Such files are refused before they are parsed.
  const deep = tooDeep(text);
  if (deep !== undefined) {
    throw new RunbookError([
      `${file}:${deep}: nested too deeply (at most ${MAX_FLOW_NESTING} levels of [ ] and { }, and ${MAX_INDENT_COLUMNS} columns of indentation)`,
    ]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const at = (e: (typeof doc.errors)[number]) => `${file}:${lines.linePos(e.pos[0]).line}`;
    const problems = doc.errors.slice(0, MAX_PROBLEMS).map((e) => `${at(e)}: ${e.message.split('\n')[0]}`);
    if (doc.errors.length > MAX_PROBLEMS)
      problems.push(`${at(doc.errors[MAX_PROBLEMS])}: … and ${doc.errors.length - MAX_PROBLEMS} more problems`);
    throw new RunbookError(problems);
  }
  let data: unknown;
  try {
    // Throws on an alias bomb ("Excessive alias count…", yaml's maxAliasCount) and the like.
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new RunbookError([`${file}:1: ${(err as Error).message.split('\n')[0]}`]);
  }
  const parsed = runbookSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  const lineOf = (path: (string | number)[]) => {
    // The deepest node that exists along the path: a missing field is reported at its parent.
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
    }
    return 1;
  };
  // A hostile file can hold tens of thousands of problems, and finding each one's line walks the
  // document: report the first MAX_PROBLEMS, which is what a person reads anyway.
  const explained = parsed.error.issues.flatMap((issue) => explain(issue, data));
  const problems = explained.slice(0, MAX_PROBLEMS).map(({ path, text }) => `${file}:${lineOf(path)}: ${text}`);
  if (explained.length > MAX_PROBLEMS)
    problems.push(
      `${file}:${lineOf(explained[MAX_PROBLEMS].path)}: … and ${explained.length - MAX_PROBLEMS} more problems`,
    );
  throw new RunbookError(problems);
}

/** The runbook files directly in `dir`, all validated; any problem in any file fails the whole load. */
export function loadRunbooks(dir: string): LoadedRunbook[] {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => RUNBOOK_FILE.test(n) && !SCHEMA_FILE.test(n) && statSync(join(dir, n)).isFile())
      .sort();
  } catch (err) {
    throw new RunbookError([
      `${dir}: cannot read the runbooks folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    ]);
  }
  if (names.length === 0) throw new RunbookError([`${dir}: no runbook files (*.yaml, *.yml, *.json)`]);
  const problems: string[] = [];
  const loaded: LoadedRunbook[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      loaded.push({ file, runbook: parseRunbook(readFileSync(file, 'utf8'), file) });
    } catch (err) {
      if (!(err instanceof RunbookError)) throw err;
      problems.push(...err.problems);
    }
  }
  const seen = new Map<string, string>();
  for (const { file, runbook } of loaded) {
    const other = seen.get(runbook.name);
    if (other) problems.push(`${file}: runbook name "${runbook.name}" is already used by ${other}`);
    seen.set(runbook.name, file);
  }
  if (problems.length) throw new RunbookError(problems);
  return loaded;
}

/**
 * Words for one zod issue. A step whose action is unknown gets the list of actions; a problem
 * inside a step names the step by its id.
 */
function explain(issue: z.ZodIssue, data: unknown): { path: (string | number)[]; text: string }[] {
  if (issue.code === z.ZodIssueCode.invalid_union && issue.unionErrors.length) {
    // Conditions are unions: report the alternative that got furthest.
    const best = [...issue.unionErrors].sort((a, b) => depth(b) - depth(a))[0];
    return best.issues.flatMap((i) => explain(i, data));
  }
  const path = issue.path;
  const stepIndex = path[0] === 'steps' && typeof path[1] === 'number' ? path[1] : undefined;
  const stepId = stepIndex !== undefined ? (data as { steps?: { id?: unknown }[] }).steps?.[stepIndex]?.id : undefined;
  const where =
    stepIndex !== undefined ? `step ${typeof stepId === 'string' ? `"${stepId}"` : `#${stepIndex + 1}`}, ` : '';
  const field = stepIndex !== undefined ? path.slice(2) : path;
  // describeIssue names an empty path "(event)"; here it is the runbook or the step.
  let text = describeIssue({ ...issue, path: field }).replace(
    /^\(event\):/,
    stepIndex !== undefined ? '(step):' : '(runbook):',
  );
  if (issue.code === z.ZodIssueCode.invalid_union_discriminator)
    text = `${field.join('.')}: unknown action; use one of ${issue.options.map(String).join(', ')}`;
  return [{ path, text: `${where}${text}` }];
}

/**
 * The line where `text` first nests deeper than the bounds, if it does. Conservative: brackets
 * inside quoted strings count too (templates' `{{ }}` are balanced), and so does the indentation
 * of block scalars' lines.
 */
function tooDeep(text: string): number | undefined {
  let flow = 0;
  let line = 1;
  let column = 0;
  let atLineStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      line++;
      column = 0;
      atLineStart = true;
      continue;
    }
    if (atLineStart) {
      const next = text[i + 1];
      const marker = (c === '-' || c === '?' || c === ':') && (next === ' ' || next === '\t');
      if (c === ' ' || c === '\t' || marker) {
        if (++column > MAX_INDENT_COLUMNS) return line;
        continue;
      }
      atLineStart = false;
    }
    if (c === '[' || c === '{') {
      if (++flow > MAX_FLOW_NESTING) return line;
    } else if ((c === ']' || c === '}') && flow > 0) flow--;
  }
  return undefined;
}

function depth(error: z.ZodError): number {
  return error.issues.reduce((max, i) => Math.max(max, i.path.length), 0);
}
