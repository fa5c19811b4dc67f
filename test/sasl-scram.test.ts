import { ScramClient } from '../src/kafka/wire/sasl';

describe('SCRAM client', () => {
  // RFC 7677, section 3: the SCRAM-SHA-256 exchange for user "user", password "pencil".
  const NONCE = 'rOprNGfwEbeRWgbNEkqO';
  const SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';

  it('computes the RFC 7677 test vector and accepts the server signature', () => {
    const c = new ScramClient('sha256', 'user', 'pencil', NONCE);
    expect(c.clientFirst()).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    expect(c.clientFinal(SERVER_FIRST)).toBe('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    expect(() => c.verifyServerFinal('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=', 'test')).not.toThrow();
  });

  it('refuses a broker that cannot prove the password, a foreign nonce and a server error', () => {
    const c = new ScramClient('sha256', 'user', 'pencil', NONCE);
    c.clientFirst();
    c.clientFinal(SERVER_FIRST);
    expect(() => c.verifyServerFinal('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'b:1')).toThrow(/did not prove it knows the password/);
    expect(() => c.verifyServerFinal('e=invalid-proof', 'b:1')).toThrow(/failed: invalid-proof/);
    const d = new ScramClient('sha512', 'user', 'pencil', NONCE);
    d.clientFirst();
    expect(() => d.clientFinal('r=someoneElse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')).toThrow(/nonce/);
    expect(() => d.clientFinal(`r=${NONCE}x,s=,i=4096`)).toThrow(/malformed/);
  });

  it('escapes "=" and "," in the user name as RFC 5802 asks', () => {
    expect(new ScramClient('sha256', 'a=b,c', 'p', 'n').clientFirst()).toBe('n,,n=a=3Db=2Cc,r=n');
  });
});
