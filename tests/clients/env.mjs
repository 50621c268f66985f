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
