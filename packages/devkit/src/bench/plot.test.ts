import { describe, expect, it } from 'vitest';
import type { OrdersFigures } from './orders-run.js';
import { hasSweep, renderKnee } from './plot.js';
import type { BenchResult } from './report.js';

const level = (connections: number, settled: number, p99: number) =>
  ({
    connections,
    acceptedRps: settled * 1.1,
    settledDuringLoadRps: settled,
    placeToTerminalMs: { p50: p99 / 2, p99, max: p99 * 2 },
  }) as OrdersFigures;

const base: Pick<BenchResult, 'machine' | 'startedAt'> = {
  machine: { cpus: 2, model: 'Test CPU', memoryGiB: 4, node: 'v20.0.0', os: 'Linux', busyCoresBefore: 0 },
  startedAt: '2025-03-04T05:06:07.890Z',
};

describe('renderKnee', () => {
  it("draws each database's sweep as a PNG of the chart's size", () => {
    const png = renderKnee({
      ...base,
      databases: {
        sqlite: { sweep: [level(16, 800, 90), level(64, 1200, 400), level(32, 1100, 150)], violations: [] },
        postgres: { sweep: [level(16, 300, 600), level(32, 310, 1400)], violations: [] },
      },
    });
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // IHDR: width and height, big-endian, right after the signature and the chunk's length and type.
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1000, 560]);
  });

  it('refuses a result without a sweep', () => {
    const result = { ...base, databases: { sqlite: { violations: [] } } };
    expect(hasSweep(result)).toBe(false);
    expect(() => renderKnee(result)).toThrow(/no sweep/);
  });
});
