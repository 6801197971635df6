/** The lab CLI under vite-node (labs/bin/nodebgp-lab), which passes each `--` argument as `:--:`. */
import { labMain } from '../cli.js';

process.exitCode = await labMain(process.argv.slice(2).map((a) => (a === ':--:' ? '--' : a)));
