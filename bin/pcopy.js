#!/usr/bin/env node
'use strict';
// CommonJS (see bin/package.json): Node starts it without its ES module loader.
// The first worker starts now, while the CLI loads (see src/worker-process.ts).
require('../dist/worker-process.cjs').forkEarlyWorker(process.argv.slice(2));
require('../dist/cli.cjs').main(process.argv);
