import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Test, type TestingModule } from '@nestjs/testing';
import { aesGcmCodec, Stent, StentExecutor, Workflow } from 'nestjs-stent';
import { StentTestHarness, StentTestingModule } from 'nestjs-stent/testing';

/** A daily digest: one chunk a simulated day, its count published as an event. */
@Workflow({ name: 'HarnessDigest' })
export class DigestWorkflow {
  async run(days: number): Promise<number> {
    for (let day = 1; day <= days; day++) {
      await Stent.sleep('1d');
      Stent.writeStream('digest', `day ${day}`);
      Stent.setEvent('days', day);
    }
    Stent.closeStream('digest');
    return days;
  }
}

describe('events and streams in the testing module (manual clock, a codec)', () => {
  let moduleRef: TestingModule | undefined;
  afterEach(() => moduleRef?.close());

  it('a reader follows the stream as the test advances time; events read through the codec', async () => {
    moduleRef = await Test.createTestingModule({
      imports: [StentTestingModule.forRoot({ codec: aesGcmCodec({ keys: { t: randomBytes(32) }, current: 't' }) })],
      providers: [DigestWorkflow],
    }).compile();
    await moduleRef.init();
    const stent = moduleRef.get(StentTestHarness);
    const executor = moduleRef.get(StentExecutor);
    const id = await executor.dispatch(DigestWorkflow, [3]);
    const seen: string[] = [];
    const reading = (async () => {
      for await (const chunk of executor.readStream<string>(id, 'digest')) seen.push(chunk.value);
    })();
    await stent.advance('1d');
    expect(await executor.getEvent(id, 'days')).toBe(1);
    await stent.advance('2d');
    await reading;
    expect(seen).toEqual(['day 1', 'day 2', 'day 3']);
    expect((await executor.waitFor(id)).value).toBe(3);
    expect(stent.replays(id)).toBeGreaterThan(0);
  });
});
