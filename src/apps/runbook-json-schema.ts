import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { runbookSchema } from '../core/runbook';

// Called through a plain signature: the library's generic types recurse too deeply on our
// recursive condition schema for the TypeScript compiler.
const toJsonSchema = zodToJsonSchema as unknown as (
  schema: unknown,
  options: { name: string; pipeStrategy: 'input' },
) => Record<string, unknown>;

/**
 * A JSON Schema of the runbook format, for editors (see the first line of each runbook file). Piped
 * schemas show what the runbook author writes (the input side).
 */
export function runbookJsonSchema(): object {
  return { ...toJsonSchema(runbookSchema, { name: 'Runbook', pipeStrategy: 'input' }), title: 'zoom-runbooks runbook' };
}

// `npm run schema` writes runbooks/runbook.schema.json.
if (require.main === module) {
  const file = join(__dirname, '..', '..', 'runbooks', 'runbook.schema.json');
  writeFileSync(file, `${JSON.stringify(runbookJsonSchema(), null, 2)}\n`);
  console.log(`wrote ${file}`);
}
