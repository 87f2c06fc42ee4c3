import { MOTO_LAUNCHER, motoServerCommand } from '../../local/moto';

/** How local/moto.ts starts moto_server: the launcher under moto's own Python where it can tell which that is. */
describe('motoServerCommand', () => {
  const args = ['-H', '127.0.0.1', '-p', '5000'];

  it("runs the launcher under the interpreter pip's console script names", () => {
    expect(motoServerCommand('#!/root/.pyenv/versions/3.11.7/bin/python', args)).toEqual({
      command: '/root/.pyenv/versions/3.11.7/bin/python',
      args: [MOTO_LAUNCHER, ...args],
    });
    expect(motoServerCommand('#!/usr/bin/python3.11', args).command).toBe('/usr/bin/python3.11');
    expect(motoServerCommand('#! /opt/venv/bin/python3 ', args)).toEqual({ command: '/opt/venv/bin/python3', args: [MOTO_LAUNCHER, ...args] });
  });

  it('runs it through env where the script asks env for python', () => {
    expect(motoServerCommand('#!/usr/bin/env python3', args)).toEqual({ command: '/usr/bin/env', args: ['python3', MOTO_LAUNCHER, ...args] });
  });

  it.each([
    ['a pyenv shim', '#!/usr/bin/env bash'],
    ["pip's /bin/sh trampoline for long interpreter paths", '#!/bin/sh'],
    ['an interpreter with options', '#!/usr/bin/python3 -E'],
    ['env with a program that is not python', '#!/usr/bin/env pythonista'],
    ['a binary', '\u007fELF\u0002\u0001\u0001'],
    ['no file', undefined],
  ])('starts moto_server as it is for %s', (_what, firstLine) => {
    expect(motoServerCommand(firstLine, args)).toEqual({ command: 'moto_server', args });
  });
});
