/**
 * The spoken text of a WebVTT file, as Zoom writes its transcripts (`Speaker: words` per cue): the
 * cues' text only, one cue a line, without the header, cue ids, timings, NOTE/STYLE/REGION blocks
 * or markup.
 */

export interface SpokenText {
  text: string;
  /** False when the file held more than the characters asked for (the rest was not read). */
  complete: boolean;
}

/**
 * Reads `chunks` (a download's body) only as far as `maxChars` characters of text need: leaving
 * the loop early closes the stream, so a long meeting's file is not read whole.
 */
export async function vttSpokenText(chunks: AsyncIterable<Uint8Array | string>, maxChars: number): Promise<SpokenText> {
  const decoder = new TextDecoder();
  const cues = new CueReader();
  let partial = '';
  for await (const chunk of chunks) {
    partial += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) cues.line(line);
    if (cues.length > maxChars) return { text: cues.text.slice(0, maxChars), complete: false };
  }
  for (const line of `${partial}${decoder.decode()}\n`.split('\n')) cues.line(line);
  const text = cues.text;
  return text.length > maxChars ? { text: text.slice(0, maxChars), complete: false } : { text, complete: true };
}

/** A line-by-line WebVTT reader that keeps each cue's text. */
class CueReader {
  private state: 'start' | 'between' | 'cue' | 'skip' = 'start';
  private readonly cues: string[] = [];
  private current: string[] = [];
  /** Characters of text so far, with the line breaks between cues. */
  length = 0;

  get text(): string {
    return this.cues.join('\n');
  }

  line(raw: string): void {
    const line = raw.replace(/\r$/, '');
    const blank = line.trim() === '';
    if (this.state === 'start') {
      // The header block (WEBVTT and its metadata) ends at the first blank line.
      this.state = /^\uFEFF?WEBVTT/.test(line) ? 'skip' : 'between';
      if (this.state === 'skip') return;
    }
    if (this.state === 'cue') {
      if (!blank) this.current.push(line);
      else this.endCue();
      return;
    }
    if (blank) {
      this.state = 'between';
      return;
    }
    if (this.state === 'skip') return;
    // Between blocks: a timing line opens a cue; NOTE, STYLE and REGION blocks are skipped; any
    // other line is a cue id.
    if (line.includes('-->')) this.state = 'cue';
    else if (/^(NOTE|STYLE|REGION)\b/.test(line)) this.state = 'skip';
  }

  private endCue(): void {
    const text = this.current
      .join(' ')
      .replace(/<[^>]*>/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&nbsp;/g, ' ')
      .replace(/&amp;/g, '&')
      .replace(/\s+/g, ' ')
      .trim();
    this.current = [];
    this.state = 'between';
    if (!text) return;
    this.length += (this.cues.length ? 1 : 0) + text.length;
    this.cues.push(text);
  }
}
