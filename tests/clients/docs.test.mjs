// Runs every snippet of docs/clients.md as written (```js with node from this
// folder, so it finds the pinned packages; ```go with `go run` inside the
// module; ```sh with bash from the repository root). A fence preceded by
// `<!-- test-clients: skip -->` is not run (package installs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

import { codeBlocks, mnemonicOf, ROOT } from "./env.mjs";

const doc = readFileSync(path.join(ROOT, "docs/clients.md"), "utf8");
const snippets = codeBlocks(doc, ["js", "go", "sh"]);

// What each language's snippet must print, beyond exiting 0.
const expect = {
  js: [/^height \d+$/m, /^balance \d+ umerit$/m, /^tx [0-9A-F]{64} code 0 included at \d+$/m, /^transfer events in block \d+ : [1-9]\d*$/m, /^block events: .*coinbase/m],
  go: [/^height \d+, subnet 1: demo$/m, /^alice has \d+ umerit$/m, /^tx [0-9A-F]{64} included at \d+$/m],
  sh: [/"height":"\d+"/, /"denom":"umerit"/, /"subnet_limit":/, /"version":"0\.39\.\d+"/],
};

test("docs/clients.md has a snippet for each client", () => {
  for (const lang of ["js", "go", "sh"]) {
    assert.ok(snippets.some((s) => s.lang === lang && !s.skip), `no ${lang} snippet`);
  }
});

// Inside the module (the snippet imports it), under a "_" directory so that
// ./... patterns (go vet, go test, golangci-lint) never pick it up.
const scratch = path.join(ROOT, "build/_clients-snippets");
for (const s of snippets.filter((s) => !s.skip)) {
  test(`docs/clients.md:${s.line} (${s.lang}) runs as written`, { timeout: 600_000 }, () => {
    const env = { ...process.env, MNEMONIC: mnemonicOf("alice") };
    let out;
    if (s.lang === "js") {
      const file = path.join(ROOT, "tests/clients", `.snippet-${s.line}.mjs`);
      writeFileSync(file, s.code);
      try {
        out = execFileSync("node", [file], { env, encoding: "utf8" });
      } finally {
        rmSync(file);
      }
    } else if (s.lang === "go") {
      const dir = path.join(scratch, `go${s.line}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, "main.go"), s.code);
      try {
        out = execFileSync("go", ["run", "./" + path.relative(ROOT, dir)], { cwd: ROOT, env, encoding: "utf8" });
      } finally {
        rmSync(dir, { recursive: true });
      }
    } else {
      out = execFileSync("bash", ["-euo", "pipefail", "-c", s.code], { cwd: ROOT, env, encoding: "utf8" });
    }
    for (const re of expect[s.lang]) assert.match(out, re, `output:\n${out}`);
  });
}
