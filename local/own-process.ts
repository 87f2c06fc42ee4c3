/**
 * Whether a process id from a pid file is still the process we started. Pids are reused, so a
 * live pid proves nothing: its command line must also say what we started (`ps` works the same on
 * Linux and macOS, unlike /proc).
 */
import { execFileSync } from 'node:child_process';

/** Running: a zombie (exited, not yet reaped by a parent or an init that may never do it) counts as gone. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = psField(pid, 'stat');
  return stat !== undefined && !stat.startsWith('Z');
}

// -ww: the whole command line, however long (ps cuts it to a width otherwise).
function psField(pid: number, field: 'args' | 'stat'): string | undefined {
  try {
    return execFileSync('ps', ['-ww', '-o', `${field}=`, '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The process's command line, or undefined when it is gone. */
export function commandLine(pid: number): string | undefined {
  return Number.isInteger(pid) && pid > 0 ? psField(pid, 'args') : undefined;
}

/** Alive, and its command line is what we started: `pattern` should anchor on whole words (see `words`). */
export function isOurs(pid: number, pattern: RegExp): boolean {
  if (!isAlive(pid)) return false;
  const args = commandLine(pid);
  return args !== undefined && pattern.test(args);
}

/**
 * A pattern for these words in a command line, each whole: `-p 5000` must not match a server on port
 * 50001, nor `--dir /tmp/a` one in /tmp/ab. The first may end a path (`/usr/bin/moto_server`).
 */
export function words(text: string): RegExp {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[\\s/])${escaped}(\\s|$)`);
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !isAlive(pid);
}
