#!/usr/bin/env node
'use strict';
// CommonJS (see bin/package.json): Node starts it without its ES module loader.
// The first worker starts now, while the CLI loads, and V8 tiers up later (see src/start-up.ts).
require('../dist/start-up.cjs').startUp(process.argv.slice(2));
require('../dist/cli.cjs').main(process.argv);
