import { e164, maskPhone, maskPhoneIn } from '../src/core/phone';

describe('phone numbers', () => {
  it('reads E.164 numbers as people write them, and nothing else', () => {
    expect(e164('+1 (415) 555-0123')).toBe('+14155550123');
    expect(e164('+44 20 7946 0958')).toBe('+442079460958');
    expect(e164('+44.20.7946.0958')).toBe('+442079460958');
    for (const bad of [
      '4155550123',
      '0415 555 0123',
      '+0 415 555 0123',
      '+1 555',
      '+1234567890123456',
      '+1 415 555 O123',
      '',
    ])
      expect(e164(bad)).toBeUndefined();
  });

  it('masks all but the last four digits', () => {
    expect(maskPhone('+14155550123')).toBe('+••• ••• 0123');
    expect(maskPhone('+44 20 7946 0958')).toBe('+••• ••• 0958');
  });

  it('masks every echo of a number in a text, however written, and leaves other numbers alone', () => {
    const phone = '+14155550123';
    expect(maskPhoneIn('Invalid number +14155550123.', phone)).toBe('Invalid number +••• ••• 0123.');
    expect(maskPhoneIn('call to 1 (415) 555-0123 failed; retry 415.555.0123', phone)).toBe(
      'call to +••• ••• 0123 failed; retry +••• ••• 0123',
    );
    expect(maskPhoneIn('extension 50123', phone)).toBe('extension 50123'); // too short to be it
    expect(maskPhoneIn('HTTP 400 code 300: meeting 85746065432 not found', phone)).toBe(
      'HTTP 400 code 300: meeting 85746065432 not found',
    );
  });
});
