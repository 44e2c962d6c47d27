#!/usr/bin/env node
// The first worker starts now, while the CLI loads (see dist/worker-process.js).
import { forkEarlyWorker } from '../dist/worker-process.js';

forkEarlyWorker(process.argv.slice(2));
const { main } = await import('../dist/cli.js');
await main(process.argv);
