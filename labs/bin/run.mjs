// Loads the compiled lab CLI given as the first argument and runs it with the rest.
const [, , entry, ...args] = process.argv;
const { labMain } = await import(new URL(`file://${entry}`).href);
process.exitCode = await labMain(args);
