// Runs the user walkthrough of docs/payment.md ("Pay for answers") as
// written, against a running `make demo` (run.sh starts one): its ```sh
// blocks in one bash session from the repository root, in order, so what
// one block exports the next one sees; its ```js blocks with node from this
// folder (the pinned `openai` package) inside that session; its ```python
// blocks only where python3 has the `openai` package (it is not on npm, so
// CI skips them). A fence preceded by `<!-- test-clients: skip -->` is
// not run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

import { codeBlocks, ROOT } from "./env.mjs";

const doc = readFileSync(path.join(ROOT, "docs/payment.md"), "utf8");
const start = doc.indexOf("## Pay for answers");
const end = doc.indexOf("\n## ", start + 1);
const section = doc.slice(start, end);

const blocks = codeBlocks(section, ["sh", "js", "python"]);

function hasPythonOpenAI() {
  try {
    execFileSync("python3", ["-c", "import openai"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

test("docs/payment.md walks a user to a paid answer, as written", { timeout: 300_000 }, () => {
  assert.ok(start >= 0, "no 'Pay for answers' section");
  for (const lang of ["sh", "js", "python"]) {
    assert.ok(blocks.some((b) => b.lang === lang), `no ${lang} block`);
  }
  const python = hasPythonOpenAI();
  const files = [];
  let script = "set -euo pipefail\n";
  blocks.forEach((b, i) => {
    if (b.skip) return;
    script += `echo "=== block ${i + 1} (${b.lang})"\n`;
    if (b.lang === "sh") {
      script += b.code;
    } else if (b.lang === "js") {
      const f = path.join(ROOT, "tests/clients", `.payment-${i}.mjs`);
      writeFileSync(f, b.code);
      files.push(f);
      script += `node ${JSON.stringify(f)}\n`;
    } else if (python) {
      const f = path.join(ROOT, "build", `.payment-${i}.py`);
      writeFileSync(f, b.code);
      files.push(f);
      script += `python3 ${JSON.stringify(f)}\n`;
    } else {
      script += `echo "python3 has no openai package here; skipped"\n`;
    }
  });
  let out;
  try {
    out = execFileSync("bash", ["-c", script], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    assert.fail(`the walkthrough failed:\n${e.stdout}\n${e.stderr}`);
  } finally {
    for (const f of files) rmSync(f, { force: true });
    rmSync(path.join(ROOT, "open.txt"), { force: true });
  }
  console.log(out);
  // What a user must see: a funded key, an account, a gateway, answers
  // with their cost (curl headers, the Node client both ways), the account
  // charged and the subnet's revenue.
  for (const re of [/umerit/, /opened payment account: id \d+/, /url: http/, /^x-merit-cost: \d+/im,
    /^cost \d+ umerit for \d+ tokens; left \d+ umerit$/m, /^streamed ".*" cost \d+ umerit$/m, /balance: "\d+"/, /revenue_ema/]) {
    assert.match(out, re);
  }
});
