/**
 * license-path texts from a build's workspace, whatever the workspace is. A copied workspace is a
 * directory to read; an overlay (source/workspace.ts) exists only inside its mount namespace, so the
 * texts are read there: this module runs itself as a child process entered into the namespace, with
 * the same checks (inside the workspace, no symlink out of it, a bounded regular file).
 */
import { spawn } from "node:child_process";
import { DistrolessError, type ErrorCode, errorMessage, isDistrolessError } from "../../util/errors";
import type { Copyright } from "../recipe/schema";
import type { Workspace } from "../source/workspace";
import { hasLicensePath, licenseTexts } from "./license-texts";

type ChildAnswer = { texts: Record<string, string> } | { error: { code: ErrorCode; message: string } };

export async function licenseTextsOf(
  copyright: readonly Copyright[],
  ws: Workspace,
): Promise<Record<string, string>> {
  if (ws.kind === "copy" || !hasLicensePath(copyright)) return licenseTexts(copyright, ws.dir);
  const entered = ws.enter(process.execPath, [__filename, ws.dir, JSON.stringify(copyright)]);
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(entered.command, entered.args, { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        out += d;
      });
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        err += d;
      });
      child.on("error", reject);
      child.on("close", (c) => resolve({ code: c, stdout: out, stderr: err }));
    },
  );
  let answer: ChildAnswer | undefined;
  try {
    answer = JSON.parse(stdout) as ChildAnswer;
  } catch {
    answer = undefined;
  }
  if (!answer || code !== 0) {
    if (answer && "error" in answer) throw new DistrolessError(answer.error.code, answer.error.message);
    throw new DistrolessError(
      "E_INTERNAL",
      `reading the license-path texts in the build workspace failed (exit ${code}): ${stderr.trim().slice(0, 500)}`,
    );
  }
  if ("error" in answer) throw new DistrolessError(answer.error.code, answer.error.message);
  return answer.texts;
}

/** The child: argv = [workspace, copyright JSON]; answers one JSON document on stdout. */
async function childMain(workspace: string, copyrightJson: string): Promise<void> {
  try {
    const texts = await licenseTexts(JSON.parse(copyrightJson) as Copyright[], workspace);
    process.stdout.write(JSON.stringify({ texts }));
  } catch (err) {
    const code: ErrorCode = isDistrolessError(err) ? err.code : "E_INTERNAL";
    process.stdout.write(JSON.stringify({ error: { code, message: errorMessage(err) } }));
    process.exitCode = 1;
  }
}

if (require.main === module) void childMain(process.argv[2] ?? "", process.argv[3] ?? "[]");
