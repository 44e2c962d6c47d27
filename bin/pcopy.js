#!/bin/sh
":" //; unset NODE_EXTRA_CA_CERTS; exec node "$0" "$@"
'use strict';
// Run as a command, this file is a shell script for its first two lines: it starts Node on itself
// without NODE_EXTRA_CA_CERTS. Node 20 reads and parses that CA bundle as it starts (a system
// bundle: ~40 ms of a core, more than the rest of Node's start), and pcopy makes no TLS connection.
// To Node, those lines are a hashbang, a string and a comment; `node bin/pcopy.js` starts here.
//
// CommonJS (see bin/package.json): Node starts it without its ES module loader.
// The first worker starts now, while the CLI loads from its code cache, after which V8 tiers up
// later (see src/start-up.ts).
const { startUp, loadProcessBundle } = require('../dist/start-up.cjs');
startUp(process.argv.slice(2));
loadProcessBundle(require('node:path').join(__dirname, '..', 'dist', 'cli.cjs')).main(process.argv);
