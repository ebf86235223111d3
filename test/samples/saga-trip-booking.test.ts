import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killAllProcesses, printedOutcome, readJournal, runSample, sampleEnv, SampleProcess, traceAcrossRestart, type TraceLine } from './sample-process.js';

const SAMPLE = 'saga-trip-booking';

describe('sample/saga-trip-booking', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stent-saga-'));
  afterEach(killAllProcesses);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const confirmationOf = (stdout: string, kind: string) => new RegExp(`${kind}: confirmed (\\S+)`).exec(stdout)?.[1];

  it('books the flight, the hotel and the car and prints the itinerary', async () => {
    const env = sampleEnv(dir, 'happy.db');
    const { stdout } = await runSample(SAMPLE, ['trip-happy'], env);
    const outcome = printedOutcome(stdout);
    expect(outcome).toMatchObject({ state: 'completed', ok: true, value: { tripId: 'trip-happy' } });
    for (const kind of ['flight', 'hotel', 'car']) expect(outcome.value[kind].confirmation).toBe(confirmationOf(stdout, kind));
    expect(stdout).not.toMatch(/cancel/);
    expect(stdout).toMatch(/BookingActivities\.rentCar\s+completed, 1 attempt/);
  });

  it('when the car cannot be rented after its retries, cancels the hotel and then the flight and ends completed with an error Result', async () => {
    const env = sampleEnv(dir, 'car-fails.db', { SAGA_FAIL: 'car', SAGA_RETRY_DELAY: '100ms' });
    const { stdout } = await runSample(SAMPLE, ['trip-no-car'], env);
    const outcome = printedOutcome(stdout);
    const flight = confirmationOf(stdout, 'flight');
    const hotel = confirmationOf(stdout, 'hotel');
    expect(outcome).toMatchObject({
      state: 'completed',
      ok: false,
      error: { tripId: 'trip-no-car', failedStep: 'BookingActivities.rentCar', reason: 'no cars available at the airport', cancelled: [`hotel ${hotel}`, `flight ${flight}`] },
    });
    expect(stdout.match(/car: refused/g)).toHaveLength(3);
    // Reverse order: the hotel (booked last) is cancelled before the flight.
    expect(stdout.indexOf(`hotel: cancelled ${hotel}`)).toBeGreaterThan(stdout.lastIndexOf('car: refused'));
    expect(stdout.indexOf(`flight: cancelled ${flight}`)).toBeGreaterThan(stdout.indexOf(`hotel: cancelled ${hotel}`));
    expect(stdout).toMatch(/BookingActivities\.rentCar\s+failed, 3 attempts/);
  });

  it('when the hotel is refused, cancels only the flight and never rents a car', async () => {
    const env = sampleEnv(dir, 'hotel-fails.db', { SAGA_FAIL: 'hotel', SAGA_RETRY_DELAY: '100ms' });
    const { stdout } = await runSample(SAMPLE, ['trip-no-hotel'], env);
    const flight = confirmationOf(stdout, 'flight');
    expect(printedOutcome(stdout)).toMatchObject({ state: 'completed', ok: false, error: { failedStep: 'BookingActivities.bookHotel', cancelled: [`flight ${flight}`] } });
    expect(stdout).not.toMatch(/car: reserving/);
  });

  it('killed while the car rental waits for its retry, continues on restart without booking the flight or hotel again', async () => {
    const env = sampleEnv(dir, 'crash.db', { SAGA_FAIL: 'car', SAGA_RETRY_DELAY: '2s' });
    const first = new SampleProcess(SAMPLE, ['trip-crash'], env);
    const executionId = (await first.waitForOutput(/execution (\S+) started/))[1];
    await first.waitForOutput(/car: refused/);
    await first.kill();

    const completedBeforeCrash = (await readJournal(env, executionId)).filter((entry) => entry.kind === 'activity' && entry.state === 'completed').map((entry) => entry.name);
    expect(completedBeforeCrash).toEqual(['BookingActivities.bookFlight', 'BookingActivities.bookHotel']);

    const { stdout } = await runSample(SAMPLE, ['trip-crash'], env);
    const outcome = printedOutcome(stdout);
    expect(outcome.executionId).toBe(executionId);
    const flight = confirmationOf(first.stdout, 'flight');
    const hotel = confirmationOf(first.stdout, 'hotel');
    expect(outcome).toMatchObject({ state: 'completed', ok: false, error: { failedStep: 'BookingActivities.rentCar', cancelled: [`hotel ${hotel}`, `flight ${flight}`] } });

    const { before, after } = traceAcrossRestart(env);
    const afterRestart = after.map((entry) => entry.line);
    expect(afterRestart.some((line) => /^(flight|hotel): reserving/.test(line))).toBe(false);
    // The car's attempts go on counting from where the killed process left them.
    const carAttempts = (trace: TraceLine[]) => trace.filter((entry) => entry.line.startsWith('car: reserving')).map((entry) => entry.attempt);
    expect(carAttempts(before)).toEqual([1]);
    expect(carAttempts(after)).toEqual([2, 3]);
    expect(afterRestart.filter((line) => /cancelled/.test(line))).toEqual([`hotel: cancelled ${hotel}`, `flight: cancelled ${flight}`]);
  });
});
