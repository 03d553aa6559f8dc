// What the benchmarks read of processes from /proc (Linux): a process's or thread's stat
// line (name, parent, CPU seconds, start), its threads, its memory, and the process table.
// Shared by live-cpu.mjs, ui-firehose.mjs and desktop-firehose.mjs, so they count CPU and
// memory the same way; which processes matter, and what the figures mean, stay with each.

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second, the unit of utime and stime. */
export const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Name, parent, utime + stime in seconds, and start time (ticks) of a /proc stat line. The
 * name may hold spaces and parentheses, so the fields are read after its last `)`. */
export function parseStat(text) {
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  return { comm, ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / HZ, start: f[19] };
}

/** `parseStat` of a stat file, or null once the process or thread is gone. */
export function readStat(path) {
  try {
    return parseStat(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** The ids of a process's threads (as /proc names them); none once it is gone. */
export function threadIds(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

/** Every process now: pid → { ppid, comm, cmdline (its arguments) }. */
export function processTable() {
  const out = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const { ppid, comm } = parseStat(readFileSync(`/proc/${d}/stat`, 'utf8'));
      out.set(Number(d), { ppid, comm, cmdline: readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0') });
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** Proportional set size (shared pages split among their users), or NaN once gone. */
export function pssMiB(pid) {
  return kibOf(`/proc/${pid}/smaps_rollup`, /^Pss:\s+(\d+)/m) / 1024;
}

/** Resident set size, or NaN once gone. */
export function rssMiB(pid) {
  return kibOf(`/proc/${pid}/status`, /^VmRSS:\s+(\d+)/m) / 1024;
}

function kibOf(path, re) {
  try {
    const m = re.exec(readFileSync(path, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}
