import { describe, expect, it } from 'vitest';
import { checkLoad, parseWrk } from './load-driver.js';

const OUTPUT = `Running 3s test @ http://127.0.0.1:4000/orders
  2 threads and 8 connections
Requests/sec:   1000.00
BENCH requests=3010 duration_us=3004211 created=3000 non201=10 refused=7 connect_errors=0 read_errors=1 write_errors=0 timeouts=2 p50_us=4100 p90_us=9000 p99_us=21000 max_us=40000 mean_us=5012 statuses=500,502
Transfer/sec:      1.00MB
`;

describe('parseWrk', () => {
  it("reads orders.lua's BENCH line into numbers and keeps wrk's own report without it", () => {
    const { summary, report } = parseWrk(OUTPUT);
    expect(summary).toEqual({
      requests: 3010,
      durationUs: 3004211,
      created: 3000,
      non201: 10,
      refused: 7,
      connectErrors: 0,
      readErrors: 1,
      writeErrors: 0,
      timeouts: 2,
      p50Us: 4100,
      p90Us: 9000,
      p99Us: 21000,
      maxUs: 40000,
      meanUs: 5012,
      statuses: '500,502',
    });
    expect(report).toBe(
      'Running 3s test @ http://127.0.0.1:4000/orders\n  2 threads and 8 connections\nRequests/sec:   1000.00\nTransfer/sec:      1.00MB',
    );
  });

  it('refuses output without a BENCH line or with a figure missing', () => {
    expect(() => parseWrk('Running 3s test\n')).toThrow(/no BENCH line/);
    expect(() => parseWrk(OUTPUT.replace(' p99_us=21000', ''))).toThrow(/p99_us/);
  });
});

describe('checkLoad', () => {
  const clean = { ...parseWrk(OUTPUT).summary, non201: 0, readErrors: 0, timeouts: 0, statuses: '-' };

  it('accepts a clean run, refusals (503 with Retry-After) included, with up to one order per connection stored beyond the 201s', () => {
    expect(checkLoad(clean, 3000, 8)).toEqual([]);
    expect(checkLoad(clean, 3008, 8)).toEqual([]);
  });

  it('names every answer that was not a 201, socket errors, and stored orders the 201s cannot explain', () => {
    expect(checkLoad(parseWrk(OUTPUT).summary, 2999, 8)).toEqual([
      '10 answers were neither 201 nor a refusal (500,502)',
      '3 socket errors or timeouts',
      '2999 orders stored for 3000 answers 201 (+ at most 8 in flight)',
    ]);
    expect(checkLoad(clean, 3009, 8)).toEqual(['3009 orders stored for 3000 answers 201 (+ at most 8 in flight)']);
  });
});
