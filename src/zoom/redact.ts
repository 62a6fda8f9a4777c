/**
 * Scrubs secrets out of text that came back from Zoom (or from whatever answered in its place)
 * before it goes into an error message: a proxy or a misbehaving server may echo the request,
 * Authorization header and body included, in its error body.
 */

const REDACTED = '[redacted]';

/** `Bearer <token>` / `Basic <credentials>`, wherever they appear. */
const AUTH_SCHEME = /\b(Bearer|Basic)(\s+|%20|\+)[A-Za-z0-9._~+/=%-]+/gi;
/** `key=value`, `key: value`, `"key":"value"` (escaped quotes too) for keys that name secrets. */
const SECRET_FIELD =
  /\b((?:access|refresh|id|download)_token|token|client_secret|code_verifier|authorization|\w*password|passcode|zak|secret(?:_token)?)(\\?["']?\s*[:=]\s*\\?["']?)(?!\[redacted\]|Bearer\b|Basic\b)[^\s"'\\&,;})\]]+/gi;
/** An authorization code in an echoed query string or form body. */
const FORM_CODE = /([?&]code=)[^\s"'\\&]+/gi;

/** Keys of a request body whose values are secrets (passcodes, tokens…). */
const SECRET_KEY = /password|passcode|secret|token|zak/i;

/**
 * `text` with every known secret value, every bearer/basic credential and every value of a field
 * named like a secret replaced by `[redacted]`. Known values shorter than 4 characters are left
 * alone (they would redact ordinary words).
 */
export function redactSecrets(text: string, known: readonly (string | undefined)[] = []): string {
  let out = text;
  const values = [...new Set(known.filter((k): k is string => typeof k === 'string' && k.length >= 4))].sort(
    (a, b) => b.length - a.length,
  );
  for (const value of values) {
    for (const form of new Set([value, encodeURIComponent(value), Buffer.from(value).toString('base64')]))
      out = out.split(form).join(REDACTED);
  }
  return out
    .replace(AUTH_SCHEME, `$1 ${REDACTED}`)
    .replace(SECRET_FIELD, `$1$2${REDACTED}`)
    .replace(FORM_CODE, `$1${REDACTED}`);
}

/** The string values under secret-named keys of a request body (walked to any depth). */
export function secretValuesIn(body: unknown, depth = 0): string[] {
  if (!body || typeof body !== 'object' || depth > 8) return [];
  const found: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string' && SECRET_KEY.test(key)) found.push(value);
    else if (value && typeof value === 'object') found.push(...secretValuesIn(value, depth + 1));
  }
  return found;
}
