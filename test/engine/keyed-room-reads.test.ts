import { afterEach, describe, expect, it } from 'vitest';
import { createStentStore, defineActivity, defineWorkflow, ManualClock, StentExecutor } from 'nestjs-stent';
import { DIALECTS } from '../support/databases.js';
import { ExecutorSet, Gate } from '../support/executor-set.js';
import { resultsOnStandingClock } from '../support/manual-time.js';
import { capture, type Sent } from '../support/statement-capture.js';
import { waitUntil } from '../support/wait.js';

/**
 * A worker that serves an activity with per-key concurrency asks the database, before a claim, whether
 * any of its keys has pending steps and room. It asks when something may have filled or freed a key (an
 * announcement, a released slot, a poll), not in every round: a busy worker's rounds mostly follow a
 * claim that came back full, which says nothing new about keys.
 */

/** Runs of each body, by tag. */
const bodies = new Map<string, number>();
const bump = (tag: string) => bodies.set(tag, (bodies.get(tag) ?? 0) + 1);

class RoomPlain {
  async ping(tag: string): Promise<string> {
    bump(tag);
    return tag;
  }
}
defineActivity(RoomPlain, { name: 'RoomPlain' });

/** One step at a time per tenant; only a claim (or a slot handed on) starts a step of it. */
class RoomKeyed {
  async sync(tenant: string, tag: string): Promise<string> {
    bump(tag);
    return `${tenant}:${tag}`;
  }
}
defineActivity(RoomKeyed, { name: 'RoomKeyed', concurrency: { key: (args) => args[0] as string, limit: 1 } });

/** Per-key concurrency, its body held at a gate until the test opens it (a new gate for each test). */
let held = new Gate();
class RoomGated {
  async hold(tenant: string): Promise<string> {
    await held.wait();
    return `${tenant} held`;
  }
}
defineActivity(RoomGated, { name: 'RoomGated', concurrency: { key: (args) => args[0] as string, limit: 1 } });

/** One gated keyed call. */
class RoomHeld {
  constructor(private readonly gated: RoomGated) {}
  async run(tenant: string): Promise<string> {
    return this.gated.hold(tenant);
  }
}
defineWorkflow(RoomHeld, { name: 'RoomHeld' });

/** `width` plain calls at once; returns how many answered. */
class RoomFan {
  constructor(private readonly plain: RoomPlain) {}
  async run(width: number): Promise<number> {
    const answers = await Promise.all(Array.from({ length: width }, (_, i) => this.plain.ping(`fan${i}`)));
    return answers.length;
  }
}
defineWorkflow(RoomFan, { name: 'RoomFan' });

/** Two keyed calls of one tenant, one after the other. */
class RoomTenant {
  constructor(private readonly keyed: RoomKeyed) {}
  async run(tenant: string, tag: string): Promise<string[]> {
    return [await this.keyed.sync(tenant, `${tag}a`), await this.keyed.sync(tenant, `${tag}b`)];
  }
}
defineWorkflow(RoomTenant, { name: 'RoomTenant' });

/** The keyed-room read (HotPathStore.keyedRoom) and the claims of activity steps among `sent`. */
function claimStatements(sent: Sent[]): { keyedReads: number; stepClaims: number } {
  return {
    keyedReads: sent.filter((statement) => /SELECT 1 AS found FROM open/.test(statement.sql)).length,
    stepClaims: sent.filter((statement) => /stent_steps/.test(statement.sql) && /SET state = 'running', lease_owner = [?$]/.test(statement.sql)).length,
  };
}

describe.each(DIALECTS)('reads of keyed room (%s)', (dialect) => {
  let set: ExecutorSet | undefined;
  afterEach(async () => {
    await set?.dispose();
    set = undefined;
    bodies.clear();
  });

  /** An executor on a clock that stands still: no poll comes, so only what the worker is told starts a round. */
  async function start(): Promise<StentExecutor> {
    set = await ExecutorSet.create(dialect);
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const executor = new StentExecutor({ store: await createStentStore({ database: set.db.options }), worker: { concurrency: 4, lease: '1d' }, logger: set.logger, clock });
    set.onCleanup(() => executor.close('2s'));
    const plain = new RoomPlain();
    const keyed = new RoomKeyed();
    const gated = new RoomGated();
    executor.register(plain, keyed, gated, new RoomFan(plain), new RoomTenant(keyed), new RoomHeld(gated));
    await executor.start();
    const { loop } = executor.worker!;
    await waitUntil(() => !loop.busy && !loop.hints.keyed, 'the start-up rounds to end, having found no keyed room');
    return executor;
  }

  it('claim rounds that follow a full claim of plain steps do not ask for keyed room', async () => {
    const executor = await start();
    let value: unknown;
    const sent = await capture(async () => {
      const id = await executor.dispatch(RoomFan, [120]);
      const [result] = await resultsOnStandingClock(executor, [id], 'plain fan-out', 30_000);
      value = result!.ok && result!.value;
    });
    expect(value).toBe(120);
    for (let i = 0; i < 120; i++) expect(bodies.get(`fan${i}`)).toBe(1);
    const { keyedReads, stepClaims } = claimStatements(sent);
    // 4 slots for 120 steps: dozens of claims. The announcement of the fan-out's steps asks once; a read
    // for every claim was what this saves.
    expect(stepClaims).toBeGreaterThanOrEqual(10);
    expect(keyedReads).toBeLessThanOrEqual(3);
  });

  it('a keyed claim that took less than its room leaves the keyed hint cleared: the rounds after it read keyed room no more', async () => {
    held = new Gate();
    const executor = await start();
    const { loop } = executor.worker!;
    let sent: Sent[] = [];
    const id = await (async () => {
      let dispatched = '';
      sent = await capture(async () => {
        dispatched = await executor.dispatch(RoomHeld, ['acme']);
        await waitUntil(() => held.entered === 1 && !loop.busy, 'the keyed body to start and the claim loop to be idle');
      });
      return dispatched;
    })();
    // One round read keyed room (a read for each of the worker's two keyed activities) and found the key
    // open; the claim after it took the one step there was (1 of 4 slots): every open key gave what it
    // had, so the rounds its progress asks for read no more. Kept set, the hint had each of them read again.
    expect(claimStatements(sent).keyedReads).toBe(2);
    expect(loop.hints.keyed).toBe(false);
    held.open();
    const [result] = await resultsOnStandingClock(executor, [id], 'keyed run', 30_000);
    expect(result!.ok && result!.value).toBe('acme held');
  });

  it('keyed work that comes after the worker found no keyed room still runs, on announcements alone', async () => {
    const executor = await start();
    // Plain work first, so the rounds before the keyed dispatches left the keyed hint cleared.
    const fan = await executor.dispatch(RoomFan, [40]);
    await resultsOnStandingClock(executor, [fan], 'plain fan-out', 30_000);
    const { loop } = executor.worker!;
    await waitUntil(() => !loop.busy && !loop.hints.keyed, 'the claim loop to be idle with the keyed hint cleared');

    // Three runs of one tenant (one slot) and one of another: each step waits for its key's slot.
    const ids = [
      await executor.dispatch(RoomTenant, ['acme', 'x']),
      await executor.dispatch(RoomTenant, ['acme', 'y']),
      await executor.dispatch(RoomTenant, ['acme', 'z']),
      await executor.dispatch(RoomTenant, ['globex', 'w']),
    ];
    const results = await resultsOnStandingClock(executor, ids, 'keyed runs', 30_000);
    expect(results.map((result) => result.ok && result.value)).toEqual([
      ['acme:xa', 'acme:xb'],
      ['acme:ya', 'acme:yb'],
      ['acme:za', 'acme:zb'],
      ['globex:wa', 'globex:wb'],
    ]);
    for (const tag of ['xa', 'xb', 'ya', 'yb', 'za', 'zb', 'wa', 'wb']) expect(bodies.get(tag)).toBe(1);
  });
});
