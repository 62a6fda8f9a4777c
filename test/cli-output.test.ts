import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTimeline, TimelineLayout, wrap } from '../src/apps/cli/incident';
import { selfCommand } from '../src/apps/cli/shared';
import { closest, suggestion } from '../src/apps/cli/suggest';
import { temporalEnv } from '../src/apps/cli/temporal';
import { temporalConfig } from '../src/platform/config';
import type { TimelineEntry } from '../workflows/contract';

/** What the CLI prints, without a stack: timeline tables, "did you mean", the commands it suggests. */

const JOIN = 'http://127.0.0.1:9100/j/92191193874?pwd=Zm9vYmFyYmF6';
const entries: TimelineEntry[] = [
  {
    at: '2026-11-23T19:26:08.120Z',
    source: 'incident',
    status: 'info',
    summary: 'Incident INC-4211 created: Checkout latency > 5s in eu-west (SEV1)',
  },
  {
    at: '2026-11-23T19:26:09.004Z',
    source: 'incident-bridge',
    step: 'bridge',
    status: 'ok',
    summary: 'Zoom meeting ready: Checkout latency > 5s in eu-west - Incident Bridge (92191193874)',
    links: [
      { label: 'Join', url: JOIN },
      { label: 'Recording', url: 'http://127.0.0.1:9100/rec/share/abc' },
    ],
  },
];

describe('formatTimeline', () => {
  it('prints every line whole without a width (not a terminal, or --wide)', () => {
    const lines = formatTimeline(entries).split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+SOURCE\s+STEP\s+STATUS\s+SUMMARY\s+LINKS$/);
    expect(lines[2]).toMatch(
      /^2026-11-23 19:26:09\s+incident-bridge\s+bridge\s+ok\s+Zoom meeting ready: .* \(92191193874\)\s+Join: http:\S+$/,
    );
    expect(lines[2].endsWith(`Join: ${JOIN}`)).toBe(true);
    // A further link goes on a row of its own, in the LINKS column.
    expect(lines[3].trim()).toBe('Recording: http://127.0.0.1:9100/rec/share/abc');
    expect(lines[3].indexOf('Recording')).toBe(lines[2].indexOf('Join:'));
  });

  it('keeps the whole table when it fits the terminal', () => {
    expect(formatTimeline(entries, { widths: [], width: 400 })).toBe(formatTimeline(entries));
  });

  it.each([80, 100, 120])('fits a %i-column terminal: summaries wrap, links whole on rows of their own', (width) => {
    const lines = formatTimeline(entries, { widths: [], width }).split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+SOURCE\s+STEP\s+STATUS\s+SUMMARY$/);
    const column = lines[0].indexOf('SUMMARY');
    const bridge = lines.findIndex((l) => l.startsWith('2026-11-23 19:26:09'));
    expect(lines[bridge]).toMatch(/^2026-11-23 19:26:09\s+incident-bridge\s+bridge\s+ok\s+Zoom meeting ready:/);
    // Every line fits but a link's; the rows below an entry hold its summary's rest, then its links.
    for (const line of lines.filter((l) => !l.includes('http'))) expect(line.length).toBeLessThanOrEqual(width);
    const below = lines.slice(bridge + 1).map((l) => {
      expect(l.slice(0, column).trim()).toBe('');
      return l.slice(column);
    });
    expect([lines[bridge].slice(column), ...below].slice(0, -2).join(' ')).toBe(entries[1].summary);
    // Links never cut: half a URL opens nothing.
    expect(below.slice(-2)).toEqual([`Join: ${JOIN}`, 'Recording: http://127.0.0.1:9100/rec/share/abc']);
  });

  it('wraps no summary narrower than 24 characters, however narrow the terminal', () => {
    const lines = formatTimeline(entries, { widths: [], width: 30 }).split('\n');
    const bridge = lines.slice(lines.findIndex((l) => l.startsWith('2026-11-23 19:26:09')));
    expect(bridge[0]).toMatch(/ Zoom meeting ready:$/);
    const column = lines[0].indexOf('SUMMARY');
    expect(bridge.every((l) => l.slice(column).length <= 24 || l.includes('http'))).toBe(true);
  });

  it('breaks between words, and leaves a word longer than the line whole', () => {
    expect(wrap('Join the bridge: http://127.0.0.1:9100/j/92191193874?pwd=x now', 20)).toEqual([
      'Join the bridge:',
      'http://127.0.0.1:9100/j/92191193874?pwd=x',
      'now',
    ]);
    expect(wrap('short', 20)).toEqual(['short']);
  });

  it('keeps the layout and the columns of the first batch when following', () => {
    const layout: TimelineLayout = { widths: [], width: 120 };
    const first = formatTimeline(entries.slice(0, 1), layout);
    // The first entry fits whole, so the whole layout is kept for the later, wider one.
    expect(layout.fitted).toBe(false);
    expect(first.split('\n')[0]).toMatch(/LINKS$/);
    const later = formatTimeline(entries.slice(1), layout, false).split('\n');
    expect(later[0]).toMatch(
      /^2026-11-23 19:26:09\s+incident-bridge\s+bridge\s+ok\s+Zoom meeting ready: .*\(92191193874\)\s+Join: /,
    );

    const narrow: TimelineLayout = { widths: [], width: 90 };
    formatTimeline(entries, narrow);
    expect(narrow.fitted).toBe(true);
    const more = formatTimeline([{ ...entries[0], summary: 'many words '.repeat(20) }], narrow, false).split('\n');
    expect(more.length).toBeGreaterThan(1);
    for (const line of more) expect(line.length).toBeLessThanOrEqual(90);
    expect(more[0]).not.toMatch(/^TIME/);
  });
});

describe('did you mean', () => {
  const runbooks = ['incident-bridge', 'incident-sync', 'postmortem', 'recorded-bridge'];

  it.each([
    ['postmortm', 'postmortem'],
    ['Postmortem', 'postmortem'],
    ['incident-brigde', 'incident-bridge'],
    ['recorded-bridg', 'recorded-bridge'],
    ['incident-sink', 'incident-sync'],
  ])('"%s" -> "%s"', (typed, meant) => expect(closest(typed, runbooks)).toBe(meant));

  it.each(['nope', 'bridge', 'sync', 'deploy-freeze'])('"%s" is not a typo of any', (typed) =>
    expect(closest(typed, runbooks)).toBeUndefined(),
  );

  it('lists every name after the closest one', () => {
    expect(suggestion('postmortm', runbooks, 'The runbooks in runbooks')).toBe(
      'Did you mean "postmortem"? The runbooks in runbooks: incident-bridge, incident-sync, postmortem, recorded-bridge.',
    );
    expect(suggestion('nope', [], 'Its runbooks running now')).toBe('Its runbooks running now: none.');
  });
});

describe('selfCommand', () => {
  const project = join(__dirname, '..');

  it('is the path from the working directory when PATH does not find this CLI', () => {
    expect(selfCommand({ PATH: '/usr/bin:/bin' }, project)).toBe('bin/zoom-runbooks');
    expect(selfCommand({ PATH: '/usr/bin' }, join(project, 'bin'))).toBe('./zoom-runbooks');
    // From a folder the path would climb out of: the whole path.
    expect(selfCommand({ PATH: '/usr/bin' }, join(project, 'docs'))).toBe(join(project, 'bin', 'zoom-runbooks'));
  });

  it('is "zoom-runbooks" when PATH finds this very CLI (npm link)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zr-path-'));
    const linked = join(dir, 'linked');
    const other = join(dir, 'other');
    mkdirSync(linked);
    mkdirSync(other);
    symlinkSync(join(project, 'bin', 'zoom-runbooks'), join(linked, 'zoom-runbooks'));
    symlinkSync('/bin/true', join(other, 'zoom-runbooks'));
    expect(selfCommand({ PATH: `/usr/bin:${linked}` }, tmpdir())).toBe('zoom-runbooks');
    // Another zoom-runbooks first in PATH is not this one.
    expect(selfCommand({ PATH: other }, project)).toBe('bin/zoom-runbooks');
  });
});

describe('temporalEnv: what `zoom-runbooks temporal` gives the temporal CLI', () => {
  const base = { PATH: '/usr/bin', HOME: '/home/sre', ZR_PAYLOAD_KEYS_FILE: '' };

  it('the connection under the names the CLI reads, and none of our secrets', () => {
    const ours = {
      ...base,
      TEMPORAL_ADDRESS: 'temporal.example.com:7233',
      TEMPORAL_NAMESPACE: 'incidents',
      TEMPORAL_API_KEY: 'api-key',
      TEMPORAL_TLS_CERT: '/run/tls/client.pem',
      TEMPORAL_TLS_KEY: '/run/tls/client.key',
      TEMPORAL_TLS_CA: '/run/tls/ca.pem',
      ZR_PAYLOAD_KEYS: 'k1:c2VjcmV0',
      ZR_CODEC_TOKEN: 'codec-token',
      ZOOM_CLIENT_SECRET: 'zoom-secret',
    };
    const env = temporalEnv(ours, {
      address: 'temporal.example.com:7233',
      namespace: 'incidents',
      taskQueue: 'zoom-runbooks',
    });
    expect(env).toMatchObject({
      PATH: '/usr/bin',
      TEMPORAL_ADDRESS: 'temporal.example.com:7233',
      TEMPORAL_NAMESPACE: 'incidents',
      TEMPORAL_API_KEY: 'api-key',
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/run/tls/client.pem',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/run/tls/client.key',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/run/tls/ca.pem',
    });
    expect(Object.keys(env).filter((k) => /^(ZR|ZOOM)_/.test(k))).toEqual([]);
  });

  it("defaults as our commands do, and keeps the caller's own codec with its token only", () => {
    expect(temporalEnv(base, temporalConfig(base))).toMatchObject({
      TEMPORAL_ADDRESS: 'localhost:7233',
      TEMPORAL_NAMESPACE: 'default',
    });
    const own = { ...base, TEMPORAL_CODEC_ENDPOINT: 'https://codec.example.com', TEMPORAL_CODEC_AUTH: 'Bearer t' };
    expect(temporalEnv(own, temporalConfig(own))).toMatchObject({
      TEMPORAL_CODEC_ENDPOINT: 'https://codec.example.com',
      TEMPORAL_CODEC_AUTH: 'Bearer t',
    });
    expect(temporalEnv({ ...base, TEMPORAL_CODEC_AUTH: 'Bearer stray' }, temporalConfig(base))).not.toHaveProperty(
      'TEMPORAL_CODEC_AUTH',
    );
  });
});
