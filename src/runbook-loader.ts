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

/** Parses and validates one runbook file (YAML, or JSON, which YAML reads too). */
export function parseRunbook(text: string, file: string): Runbook {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new RunbookError(doc.errors.map((e) => `${file}:${lines.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`));
  }
  const data: unknown = doc.toJS();
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
  throw new RunbookError(parsed.error.issues.flatMap((issue) => explain(issue, data)).map(({ path, text }) => `${file}:${lineOf(path)}: ${text}`));
}

/** The runbook files directly in `dir`, all validated; any problem in any file fails the whole load. */
export function loadRunbooks(dir: string): LoadedRunbook[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => RUNBOOK_FILE.test(n) && !SCHEMA_FILE.test(n) && statSync(join(dir, n)).isFile()).sort();
  } catch (err) {
    throw new RunbookError([`${dir}: cannot read the runbooks folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
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
  const where = stepIndex !== undefined ? `step ${typeof stepId === 'string' ? `"${stepId}"` : `#${stepIndex + 1}`}, ` : '';
  const field = stepIndex !== undefined ? path.slice(2) : path;
  let text = describeIssue({ ...issue, path: field });
  if (issue.code === z.ZodIssueCode.invalid_union_discriminator) text = `${field.join('.')}: unknown action; use one of ${issue.options.map(String).join(', ')}`;
  return [{ path, text: `${where}${text}` }];
}

function depth(error: z.ZodError): number {
  return Math.max(...error.issues.map((i) => i.path.length));
}
