import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The built `stent` bin, found the way npm links it: package.json "bin" of the installed nestjs-stent. */
export function stentBin(): string {
  const manifestPath = createRequire(import.meta.url).resolve('nestjs-stent/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin: Record<string, string> };
  return join(dirname(manifestPath), manifest.bin.stent!);
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the bin in a child process with stdin a closed pipe (not a terminal) and no STENT_DATABASE_URL
 * unless given in env; resolves with what it printed and its exit code.
 */
export function runStent(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const base = { ...process.env };
    delete base.STENT_DATABASE_URL;
    delete base.FORCE_COLOR;
    delete base.NO_COLOR;
    const child = spawn(process.execPath, [stentBin(), ...args], { env: { ...base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdin.end();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`stent ${args.join(' ')} did not exit within ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON a --json run printed (fails with its output when it is not JSON). */
export function jsonOf<T = any>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${run.code}): ${run.stdout} ${run.stderr}`);
  }
}
