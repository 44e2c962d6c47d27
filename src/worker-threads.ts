/**
 * Threads in each worker's libuv pool, set by the launcher (worker-process.ts) and used by the
 * read-ahead (read-ahead.ts), one request per thread: a disk serves a few dozen requests at once far
 * faster than one by one. The threads start only if a worker reads ahead. A module of its own, so the
 * worker's bundle does not take in the launcher.
 */
export const WORKER_THREADS = 16;
