/**
 * Milliseconds since this process started, as `performance.now()` gives them, without loading
 * node:perf_hooks: Node loads that module and nine of its own with it on first use (~0.6 ms of each
 * process's start, even for the global `performance`); `process.uptime()` reads the same clock.
 */
export function now(): number {
  return process.uptime() * 1000;
}
