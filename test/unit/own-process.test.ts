import { spawn, spawnSync } from 'node:child_process';
import { commandLine, isAlive, isOurs, words } from '../../local/own-process';

describe('telling our process from whatever has its pid now', () => {
  it('matches whole words only, the first of which may end a path', () => {
    const moto = words('moto_server -H 127.0.0.1 -p 5000');
    expect(moto.test('/root/.pyenv/versions/3.11.7/bin/python /root/.pyenv/versions/3.11.7/bin/moto_server -H 127.0.0.1 -p 5000')).toBe(true);
    expect(moto.test('moto_server -H 127.0.0.1 -p 50001')).toBe(false);
    expect(moto.test('not_moto_server -H 127.0.0.1 -p 5000')).toBe(false);
    const server = words('/repo/local/up-server.ts --dir /tmp/a --stage');
    expect(server.test('node --import tsx /repo/local/up-server.ts --dir /tmp/a --stage dev')).toBe(true);
    expect(server.test('node --import tsx /repo/local/up-server.ts --dir /tmp/ab --stage dev')).toBe(false);
    expect(words('a.b (c)').test('x a.b (c)')).toBe(true);
    expect(words('a.b (c)').test('x aXb (c)')).toBe(false);
  });

  it('knows a live process by its command line, and a finished one as gone', async () => {
    // A process of known command line (jest's own differs in a worker and in band).
    const live = spawn('sleep', ['37']);
    try {
      expect(commandLine(live.pid!)).toBe('sleep 37');
      expect(isOurs(live.pid!, words('sleep 37'))).toBe(true);
      expect(isOurs(live.pid!, words('local/up-server.ts'))).toBe(false);
    } finally {
      live.kill();
      await new Promise((resolve) => live.once('exit', resolve));
    }
    const gone = spawnSync('true').pid!;
    expect(isAlive(gone)).toBe(false);
    expect(commandLine(gone)).toBeUndefined();
    expect(isAlive(0)).toBe(false);
  });
});
