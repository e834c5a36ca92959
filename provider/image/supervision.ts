import { DistrolessError } from "../util/errors";
import { putFile } from "./base-layout";
import type { ApkoConfig } from "./config/types";
import type { FsTree } from "./tree";

/**
 * `entrypoint.type: service-bundle`: one s6 service directory per service, `sv/<name>/run` an
 * execline script running the command (the config already made the entrypoint `s6-svscan /sv`).
 */
export function writeSupervisionTree(tree: FsTree, config: ApkoConfig): number {
  if (config.entrypoint.type !== "service-bundle") return 0;
  const names = Object.keys(config.entrypoint.services).sort();
  for (const name of names) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/.test(name)) {
      throw new DistrolessError(
        "E_CONFIG",
        `service name ${JSON.stringify(name)} is not a plain directory name`,
        {
          subject: `${config.source}: entrypoint.services`,
        },
      );
    }
    tree.mkdirAll(`sv/${name}`, { mode: 0o755, uid: 0, gid: 0, mtime: 0 }, `entrypoint.services.${name}`);
    putFile(tree, `sv/${name}/run`, `#!/bin/execlineb\n${config.entrypoint.services[name]}\n`, 0o755);
  }
  return names.length;
}
