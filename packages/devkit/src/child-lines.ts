import type { ChildProcess } from 'node:child_process';

/** Hands each non-blank line a server child prints, on stdout or stderr, to `log`. */
export function forwardLines(child: ChildProcess, log: ((line: string) => void) | undefined): void {
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) log?.(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
}
