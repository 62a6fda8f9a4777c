import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigError } from './config';

/**
 * Seals secrets (OAuth tokens) with AES-256-GCM before they enter workflow state, so Temporal's
 * history holds only ciphertext. The key comes from ZR_SECRETS_KEY (32 bytes, base64); a sealed value
 * is "v1.<iv>.<ciphertext>.<tag>" in base64url, and tampering makes it fail to open.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static fromEnv(env: Record<string, string | undefined> = process.env): SecretBox {
    const raw = env.ZR_SECRETS_KEY;
    if (!raw) {
      throw new ConfigError(
        'ZR_SECRETS_KEY is not set: it encrypts Zoom OAuth tokens kept by Temporal. Create one with: openssl rand -base64 32',
      );
    }
    return SecretBox.fromKey(raw);
  }

  static fromKey(base64Key: string): SecretBox {
    const key = Buffer.from(base64Key, 'base64');
    if (key.length !== 32)
      throw new ConfigError(
        `ZR_SECRETS_KEY must be 32 bytes encoded in base64 (openssl rand -base64 32); it decodes to ${key.length} bytes.`,
      );
    return new SecretBox(key);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv, data, cipher.getAuthTag()]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  open(sealed: string): string {
    const [version, iv, data, tag] = sealed.split('.');
    if (version !== 'v1' || !iv || !data || !tag) throw new Error('Not a sealed secret.');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('A sealed secret could not be opened: wrong ZR_SECRETS_KEY, or the value was altered.');
    }
  }
}
