#!/usr/bin/env node
'use strict';
// CommonJS (see bin/package.json): Node starts it without its ES module loader.
// V8's later tier-up, and the first worker starts now, while the CLI loads (see src/start-up.ts).
require('../dist/start-up.cjs').startUp(process.argv.slice(2));
require('../dist/cli.cjs').main(process.argv);
