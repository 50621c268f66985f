// Endpoints and keys of the localnet the suite runs against (make localnet's
// defaults; override with MERIT_RPC, MERIT_REST, MERIT_HOME).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const RPC = process.env.MERIT_RPC ?? "http://127.0.0.1:26657";
export const REST = process.env.MERIT_REST ?? "http://127.0.0.1:1317";
export const HOME = path.resolve(ROOT, process.env.MERIT_HOME ?? "build/localnet");

// mnemonicOf reads a test key's words from what scripts/localnet.sh saved.
export function mnemonicOf(name) {
  const text = readFileSync(path.join(HOME, `${name}.key.json`), "utf8");
  return JSON.parse(text.slice(text.indexOf("{"))).mnemonic;
}

// codeBlocks lists the fenced blocks of a Markdown text in the given
// languages, in order, each with its line, code, and whether the line
// before it says `<!-- test-clients: skip -->`.
export function codeBlocks(markdown, langs) {
  const lines = markdown.split("\n");
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^```(\w+)$/);
    if (!m || !langs.includes(m[1])) continue;
    const skip = i > 0 && lines[i - 1].trim() === "<!-- test-clients: skip -->";
    const end = lines.indexOf("```", i + 1);
    out.push({ lang: m[1], line: i + 1, code: lines.slice(i + 1, end).join("\n") + "\n", skip });
    i = end;
  }
  return out;
}
