import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/**
 * A CPU profile of this process over a stretch of a case, written as a .cpuprofile (open it in Chrome
 * DevTools' Performance panel or VS Code). Worker processes are profiled with --cpu-prof instead.
 */
export class CpuProfile {
  private constructor(private readonly session: Session) {}

  static async start(): Promise<CpuProfile> {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    // 100 µs between samples: a sequential step takes a few hundred µs.
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    return new CpuProfile(session);
  }

  /** Stops profiling without writing anything. */
  async discard(): Promise<void> {
    await this.session.post('Profiler.stop').catch(() => undefined);
    this.session.disconnect();
  }

  /** Stops profiling and writes the profile into `dir` as `name`.cpuprofile; returns the file. */
  async stop(dir: string, name: string): Promise<string> {
    try {
      const { profile } = await this.session.post('Profiler.stop');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${name}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      return file;
    } finally {
      this.session.disconnect();
    }
  }
}
