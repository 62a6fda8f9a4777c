/**
 * The shell lines a README section gives the reader to paste, so a test can run exactly those.
 */

/** The text of the `## <heading>` section, up to the next `## ` heading. */
export function readmeSection(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l === `## ${heading}`);
  if (start < 0) throw new Error(`README.md has no section "## ${heading}"`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/**
 * The fenced blocks of a section with their info string ("sh", or "" for plain output), their
 * lines unindented (blocks inside list items are indented).
 */
export function fencedBlocks(section: string): { lang: string; lines: string[] }[] {
  const blocks: { lang: string; lines: string[] }[] = [];
  let open: { lang: string; lines: string[]; indent: number } | undefined;
  for (const line of section.split('\n')) {
    const fence = /^(\s*)```(\S*)\s*$/.exec(line);
    if (fence && !open) {
      open = { lang: fence[2], lines: [], indent: fence[1].length };
    } else if (fence && open) {
      blocks.push({ lang: open.lang, lines: open.lines });
      open = undefined;
    } else if (open) {
      open.lines.push(line.slice(Math.min(open.indent, line.length - line.trimStart().length)));
    }
  }
  return blocks;
}

/** The commands of a section's `sh` blocks, in order: one per line, a trailing `\` continuing it. */
export function shellCommands(section: string): string[] {
  const commands: string[] = [];
  for (const block of fencedBlocks(section).filter((b) => b.lang === 'sh')) {
    let pending = '';
    for (const line of block.lines) {
      const text = `${pending}${line.trim()}`;
      if (text.endsWith('\\')) {
        pending = `${text.slice(0, -1).trimEnd()} `;
        continue;
      }
      pending = '';
      if (text && !text.startsWith('#')) commands.push(text);
    }
  }
  return commands;
}
