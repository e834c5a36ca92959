import * as net from "node:net";
import { DistrolessError } from "../../util/errors";

/** The demo's registry port when none is asked for (README and scripts/demo.sh name it). */
export const DEFAULT_DEMO_PORT = 5115;

/**
 * Whether something already listens on 127.0.0.1:`port`: we try to bind it ourselves. The demo
 * must know, because a registry started on a taken port exits while whatever holds the port answers
 * `/v2/` in its place, and the demo would push into that instead of its own registry.
 */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE" || err.code === "EACCES") resolve(true);
      else reject(err);
    });
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(false)));
  });
}

/** A port nobody listens on right now (the kernel picks it; bound and released). */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The port the demo's registry takes. An explicit `--port` that is taken is refused (the user asked
 * for that one; pushing elsewhere would surprise them as much as pushing into a stranger); the
 * default one, when taken, is swapped for a free port and `notice` says which and why.
 */
export async function chooseDemoPort(flag: string | undefined): Promise<{ port: number; notice?: string }> {
  if (flag !== undefined) {
    const port = Number(flag);
    if (!/^\d+$/.test(flag) || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new DistrolessError("E_CONFIG", `--port ${flag}: a TCP port number (1-65535)`, {
        subject: "--port",
      });
    }
    if (await portInUse(port)) {
      throw new DistrolessError(
        "E_CONFIG",
        `--port ${port}: something already listens on 127.0.0.1:${port}, and the demo would push into it instead of its own registry; stop it, pass another --port, or leave --port out to use a free one`,
        { subject: "--port" },
      );
    }
    return { port };
  }
  if (!(await portInUse(DEFAULT_DEMO_PORT))) return { port: DEFAULT_DEMO_PORT };
  const port = await freeLocalPort();
  return {
    port,
    notice: `port ${DEFAULT_DEMO_PORT} is in use by another program: the demo's registry listens on 127.0.0.1:${port} instead (the image goes there)`,
  };
}
