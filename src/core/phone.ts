/**
 * Phone numbers are personal data: a runbook may phone someone in (zoom.callOut), but the number
 * is shown only masked (timeline, step outputs, error messages, logs). Pure code: the workflows
 * use it too.
 */

/** E.164: a plus, a country code (no leading 0) and at most 15 digits in all. */
const E164 = /^\+[1-9]\d{6,14}$/;
/** What people write between digits: spaces, dots, dashes, brackets. */
const SEPARATORS = /[\s().-]/g;
/** How many trailing digits a masked number keeps. */
const SHOWN = 4;

/** The number in E.164 (`+14155550123`), its separators dropped; undefined if it is not one. */
export function e164(phone: string): string | undefined {
  const compact = phone.replace(SEPARATORS, '');
  return E164.test(compact) ? compact : undefined;
}

/** All but the last digits hidden: `+14155550123` -> `+••• ••• 0123`. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  return `+••• ••• ${digits.slice(-SHOWN)}`;
}

/**
 * `text` with every echo of `phone` masked, however it is written (with or without its country
 * code, spaced or not): a run of digits and separators that ends with the number's last seven
 * digits. Zoom's refusals may quote the number they were sent.
 */
export function maskPhoneIn(text: string, phone: string): string {
  const tail = phone.replace(/\D/g, '').slice(-7);
  if (!tail) return text;
  const echo = new RegExp(`\\+?(?:\\d[\\d\\s().-]*)?${tail.split('').join('[\\s().-]*')}`, 'g');
  return text.replace(echo, maskPhone(phone));
}
