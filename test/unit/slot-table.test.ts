import { describe, expect, it } from 'vitest';
import { SlotTable } from 'nestjs-stent/internal';

describe('SlotTable', () => {
  it('keeps, replaces and forgets values by key like a Map', () => {
    const table = new SlotTable<number, string>();
    table.set(3, 'c').set(1, 'a').set(2, 'b');
    expect(table.size).toBe(3);
    expect(table.get(1)).toBe('a');
    table.set(1, 'A');
    expect(table.get(1)).toBe('A');
    expect(table.size).toBe(3);
    expect(table.delete(1)).toBe(true);
    expect(table.delete(1)).toBe(false);
    expect(table.has(1)).toBe(false);
    expect(table.get(1)).toBeUndefined();
    expect(table.size).toBe(2);
    expect(new Map(table)).toEqual(new Map([[3, 'c'], [2, 'b']]));
  });

  it('reuses a freed slot, lists what it holds once each, and is empty after clear()', () => {
    const table = new SlotTable<string, number>();
    for (let i = 0; i < 5; i++) table.set(`k${i}`, i);
    table.delete('k1');
    table.delete('k3');
    table.set('k5', 5);
    expect([...table.keys()].sort()).toEqual(['k0', 'k2', 'k4', 'k5']);
    expect([...table.values()].sort()).toEqual([0, 2, 4, 5]);
    // A cleared table is filled in insertion order again (a run's inbox, cleared each turn, relies on it).
    table.clear();
    expect(table.size).toBe(0);
    expect([...table.entries()]).toEqual([]);
    for (const key of ['z', 'y', 'x']) table.set(key, key.charCodeAt(0));
    expect([...table.keys()]).toEqual(['z', 'y', 'x']);
  });

  it('holds no value once it was deleted or the table cleared (nothing is kept alive by it)', () => {
    const table = new SlotTable<number, { n: number }>();
    for (let i = 0; i < 100; i++) table.set(i, { n: i });
    for (let i = 0; i < 100; i += 2) table.delete(i);
    expect([...table.values()].map((v) => v.n)).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i + 1));
    const slots = (table as unknown as { valueAt: unknown[] }).valueAt;
    expect(slots.filter((value) => value !== undefined)).toHaveLength(50);
    table.clear();
    expect(slots.filter((value) => value !== undefined)).toHaveLength(0);
  });

  it('fills a cleared table in insertion order whether it kept its slots (a few) or cut them (many)', () => {
    for (const size of [1, 3, 16, 17, 40]) {
      const table = new SlotTable<number, number>();
      for (let round = 0; round < 3; round++) {
        // Each round adds more than the last, past the slots a small table keeps.
        const keys = Array.from({ length: size + round * 5 }, (_, i) => 1000 - i);
        for (const key of keys) table.set(key, key * 2);
        expect([...table.keys()]).toEqual(keys);
        expect(table.get(keys[0]!)).toBe(keys[0]! * 2);
        table.clear();
        expect(table.size).toBe(0);
        expect([...table.entries()]).toEqual([]);
        expect(table.get(keys[0]!)).toBeUndefined();
      }
    }
  });

  it('reuses the slots a small table kept through clear() instead of growing new ones', () => {
    const table = new SlotTable<number, string>();
    const slots = (table as unknown as { valueAt: unknown[] }).valueAt;
    for (let turn = 0; turn < 50; turn++) {
      table.set(turn, 'outcome');
      table.clear();
    }
    expect(slots.length).toBe(1);
    expect(slots[0]).toBeUndefined();
  });
});
