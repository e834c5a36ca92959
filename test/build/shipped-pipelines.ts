import { readdirSync } from "node:fs";
import { BUILTIN_PIPELINE_DIR } from "../../provider/build/recipe";

/** Every built-in pipeline we ship, by `uses:` name (`go/build`), sorted. */
export const SHIPPED_PIPELINES = readdirSync(BUILTIN_PIPELINE_DIR, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => f.replace(/\.yaml$/, ""))
  .sort();

/** Values for the inputs whose shape melange checks (hex digests and commits). */
export const SHAPED_INPUT_VALUES: Readonly<Record<string, string>> = {
  "expected-sha256": "ab".repeat(32),
  "expected-sha512": "cd".repeat(64),
  "expected-commit": "ef".repeat(20),
};
