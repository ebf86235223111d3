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
});
