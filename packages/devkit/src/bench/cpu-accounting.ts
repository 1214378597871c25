// CPU accounting from /proc: what each process of the system used in a time window, and what
// that comes to per order. Linux only, as the benchmark is.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** utime + stime of a process (all its threads) in clock ticks; undefined once it is gone. */
export function cpuTicks(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: count fields from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** Nanoseconds the process's main thread (a service's event loop) was runnable but waited for a CPU. */
function runQueueWait(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) || 0;
  } catch {
    return 0;
  }
}

/** Every PostgreSQL server process: backends come and go with the services' pools. */
export function postgresPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && readComm(d) === 'postgres')
    .map(Number);
}

function readComm(pid: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Busy and total clock ticks of the whole machine (all CPUs), from the first line of /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const [, ...rest] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const v = rest.slice(0, 8).map(Number); // user nice system idle iowait irq softirq steal
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3]! - v[4]!, total };
}

/** Cores the whole machine kept busy between two readings of machineTicks(). */
export function busyCores(from: { busy: number; total: number }, to: { busy: number; total: number }): number {
  return ((to.busy - from.busy) / (to.total - from.total)) * os.cpus().length;
}

/** The CPU counters of the watched processes and of the machine at one moment. */
export interface Snapshot {
  at: number;
  /** label → pid → CPU ticks and run-queue wait */
  procs: Map<string, Map<number, { ticks: number; waitNs: number }>>;
  machine: { busy: number; total: number };
}

/** The processes to watch, by label; called at every snapshot, as pids change (restarts, PostgreSQL backends). */
export type Targets = () => Map<string, number[]>;

/** Reads the counters of every target's pids (those already gone are left out) and of the machine. */
export function snapshot(targets: Targets): Snapshot {
  const procs = new Map<string, Map<number, { ticks: number; waitNs: number }>>();
  for (const [label, pids] of targets()) {
    const byPid = new Map<number, { ticks: number; waitNs: number }>();
    for (const pid of pids) {
      const ticks = cpuTicks(pid);
      if (ticks !== undefined) byPid.set(pid, { ticks, waitNs: runQueueWait(pid) });
    }
    procs.set(label, byPid);
  }
  return { at: Date.now(), procs, machine: machineTicks() };
}

/** One label's use of the window: cores on average, seconds per second its main thread waited for a CPU. */
export interface CpuRow {
  label: string;
  cores: number;
  waited: number;
}

/** CPU used between two snapshots; with `orders`, what that comes to per order. */
export interface CpuWindow {
  seconds: number;
  /** CPUs of the machine. */
  cpus: number;
  /** Busiest first. */
  rows: CpuRow[];
  /** What the machine used beyond the rows: kernel threads, interrupts, other processes. */
  unlisted: number;
  /** Cores the whole machine used. */
  machine: number;
  /** Milliseconds of CPU per order of a given average core use; 0 without `orders`. */
  msPerOrder: (cores: number) => number;
  orders?: number;
}

/** Each label's average cores used between two snapshots, and the machine's. */
export function cpuWindow(a: Snapshot, b: Snapshot, orders?: number): CpuWindow {
  const seconds = (b.at - a.at) / 1000;
  const rows: CpuRow[] = [];
  for (const [label, byPid] of b.procs) {
    let ticks = 0;
    let waitNs = 0;
    for (const [pid, end] of byPid) {
      // A pid missing from the first snapshot started meanwhile, so all of its time is in the window.
      const start = a.procs.get(label)?.get(pid) ?? { ticks: 0, waitNs: 0 };
      ticks += end.ticks - start.ticks;
      waitNs += end.waitNs - start.waitNs;
    }
    rows.push({ label, cores: ticks / HZ / seconds, waited: waitNs / 1e9 / seconds });
  }
  rows.sort((x, y) => y.cores - x.cores);
  const machine = busyCores(a.machine, b.machine);
  return {
    seconds,
    cpus: os.cpus().length,
    rows,
    unlisted: Math.max(0, machine - rows.reduce((sum, r) => sum + r.cores, 0)),
    machine,
    msPerOrder: (cores) => (orders ? (cores * seconds * 1000) / orders : 0),
    orders,
  };
}
