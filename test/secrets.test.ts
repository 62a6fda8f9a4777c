import { randomBytes } from 'node:crypto';
import { ConfigError } from '../src/platform/config';
import { SecretBox } from '../src/platform/secrets';

describe('SecretBox', () => {
  const key = randomBytes(32).toString('base64');

  it('seals to ciphertext that opens only with the same key and untouched', () => {
    const box = SecretBox.fromKey(key);
    const sealed = box.seal('sbxr.refresh-token-value');
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('refresh-token-value');
    expect(box.seal('same')).not.toBe(box.seal('same')); // fresh IV each time
    expect(box.open(sealed)).toBe('sbxr.refresh-token-value');

    const parts = sealed.split('.');
    parts[2] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow('wrong ZR_SECRETS_KEY, or the value was altered');
    expect(() => SecretBox.fromKey(randomBytes(32).toString('base64')).open(sealed)).toThrow('wrong ZR_SECRETS_KEY');
    expect(() => box.open('plain-token')).toThrow('Not a sealed secret.');
  });

  it('explains a missing or malformed key', () => {
    expect(() => SecretBox.fromEnv({})).toThrow(ConfigError);
    expect(() => SecretBox.fromEnv({})).toThrow('openssl rand -base64 32');
    expect(() => SecretBox.fromKey(randomBytes(16).toString('base64'))).toThrow('it decodes to 16 bytes');
  });
});
