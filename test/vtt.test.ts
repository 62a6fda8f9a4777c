import { Readable } from 'node:stream';
import { webVtt } from '../src/sandbox/simulate';
import { vttSpokenText } from '../src/zoom/vtt';

/** WebVTT's spoken text, as zoom.collectTranscript keeps it: the cues' words, nothing else. */
describe('vttSpokenText', () => {
  /** The file's bytes in chunks of `size` bytes: a character of several bytes may be split between two. */
  const chunked = (text: string, size: number) => {
    const bytes = Buffer.from(text);
    return Readable.from(
      Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)),
    );
  };

  it("reads Zoom's transcript: header, cue ids and timings dropped, one cue a line", async () => {
    const vtt = webVtt(['Ana Ruiz: The pool ran dry.', 'Bo Chen: Rolling back.']);
    expect(await vttSpokenText(chunked(vtt, 7), 1000)).toEqual({
      text: 'Ana Ruiz: The pool ran dry.\nBo Chen: Rolling back.',
      complete: true,
    });
  });

  it('drops NOTE and STYLE blocks and markup, joins a cue of several lines, keeps CRLF files and multibyte text split across chunks', async () => {
    const vtt = [
      '\uFEFFWEBVTT - Zoom',
      'Kind: captions',
      '',
      'NOTE written by Zoom',
      'not spoken',
      '',
      'STYLE',
      '::cue { color: red }',
      '',
      '00:00:01.000 --> 00:00:02.000 align:start',
      '<v Zoë>Zoë: ça &amp; <b>là</b></v>',
      'encore',
      '',
      'cue-2',
      '00:00:03.000 --> 00:00:04.000',
      'Ana: fin',
    ].join('\r\n');
    expect(await vttSpokenText(chunked(vtt, 3), 1000)).toEqual({
      text: 'Zoë: ça & là encore\nAna: fin',
      complete: true,
    });
  });

  it('stops reading once it has the characters asked for, and says the text is not all of it', async () => {
    let pulled = 0;
    const lines = Array.from({ length: 1000 }, (_, i) => `Speaker ${i}: words words words`);
    const vtt = webVtt(lines);
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < vtt.length; i += 100) {
          pulled++;
          yield Buffer.from(vtt.slice(i, i + 100));
        }
      })(),
    );
    const { text, complete } = await vttSpokenText(source, 50);
    expect(complete).toBe(false);
    expect(text).toBe(`${lines[0]}\n${lines[1]}`.slice(0, 50));
    expect(pulled).toBeLessThan(50); // of some 650 chunks: the rest of the file was never read
  });
});
