import * as http from "node:http";
import type * as net from "node:net";

/** What a request to the registry API is, judged from its method and path. */
export type RequestKind =
  | "ping"
  | "blob-head"
  | "blob-get"
  | "upload-start"
  | "upload-patch"
  | "upload-put"
  | "upload-status"
  | "manifest-head"
  | "manifest-get"
  | "manifest-put"
  | "manifest-delete"
  | "tags"
  | "referrers"
  | "other";

function classify(method: string, pathname: string): RequestKind {
  if (pathname === "/v2/" || pathname === "/v2") return "ping";
  if (/\/blobs\/uploads\/?$/.test(pathname) && method === "POST") return "upload-start";
  if (/\/blobs\/uploads\/[^/]+$/.test(pathname)) {
    if (method === "PATCH") return "upload-patch";
    if (method === "PUT") return "upload-put";
    if (method === "GET") return "upload-status";
  }
  if (/\/blobs\/sha256:[a-f0-9]+$/.test(pathname)) return method === "HEAD" ? "blob-head" : "blob-get";
  if (/\/manifests\/[^/]+$/.test(pathname)) {
    if (method === "HEAD") return "manifest-head";
    if (method === "GET") return "manifest-get";
    if (method === "PUT") return "manifest-put";
    if (method === "DELETE") return "manifest-delete";
  }
  if (/\/tags\/list$/.test(pathname)) return "tags";
  if (/\/referrers\/[^/]+$/.test(pathname)) return "referrers";
  return "other";
}

export interface ProxiedRequest {
  method: string;
  path: string;
  kind: RequestKind;
  /** Status sent back (0 when none reached the client). */
  status: number;
  injected: boolean;
  /** The proxy cut this request's connection partway through its body. */
  cut: boolean;
}

/**
 * A tiny HTTP proxy in front of a plain-HTTP registry on loopback. It passes requests through
 * unchanged (the Host header too, so the registry's upload URLs point back at the proxy), records
 * each one, and on demand answers one request itself with an error status or cuts a connection
 * partway through a request body.
 */
export interface FaultProxy {
  host: string;
  port: number;
  log: ProxiedRequest[];
  count(kind: RequestKind): number;
  /**
   * Answer a request of `kind` with `status` (and `headers`) instead of forwarding it (once): the
   * next one, or the one after `skip` more of that kind went through.
   */
  failNext(kind: RequestKind, status: number, headers?: Record<string, string>, skip?: number): void;
  /**
   * Destroy the connection of a request of `kind` (the next, or after `skip` more) once `afterBytes`
   * of its body went upstream.
   */
  cutNext(kind: RequestKind, afterBytes: number, skip?: number): void;
  /** Never answer the next request of `kind` (its connection stays open until `stop`). */
  hangNext(kind: RequestKind): void;
  reset(): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(upstreamPort: number): Promise<FaultProxy> {
  const log: ProxiedRequest[] = [];
  const failures: { kind: RequestKind; status: number; headers?: Record<string, string>; skip: number }[] =
    [];
  const cuts: { kind: RequestKind; afterBytes: number; skip: number }[] = [];
  const hangs: RequestKind[] = [];
  /** The first pending fault of `kind` whose skips are used up (spending one skip of each other). */
  const take = <F extends { kind: RequestKind; skip: number }>(
    list: F[],
    kind: RequestKind,
  ): F | undefined => {
    const i = list.findIndex((f) => f.kind === kind);
    if (i < 0) return undefined;
    const f = list[i]!;
    if (f.skip > 0) {
      f.skip--;
      return undefined;
    }
    return list.splice(i, 1)[0];
  };
  const sockets = new Set<net.Socket>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const kind = classify(req.method ?? "GET", url.pathname);
    const entry: ProxiedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      kind,
      status: 0,
      injected: false,
      cut: false,
    };
    log.push(entry);

    const hangIdx = hangs.indexOf(kind);
    if (hangIdx >= 0) {
      hangs.splice(hangIdx, 1);
      entry.injected = true;
      req.resume();
      return;
    }

    const failure = take(failures, kind);
    if (failure) {
      const { status, headers } = failure;
      entry.status = status;
      entry.injected = true;
      req.resume();
      req.on("end", () => {
        const body = JSON.stringify({
          errors: [{ code: "UNKNOWN", message: "injected by the fault proxy" }],
        });
        res
          .writeHead(status, {
            ...headers,
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
          })
          .end(body);
      });
      return;
    }

    const cut = take(cuts, kind);
    const upstream = http.request(
      { host: "127.0.0.1", port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        entry.status = up.statusCode ?? 0;
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) {
        entry.status = 502;
        res.writeHead(502).end();
      } else {
        res.destroy();
      }
    });
    let forwarded = 0;
    req.on("data", (chunk: Buffer) => {
      if (cut && forwarded + chunk.length > cut.afterBytes) {
        upstream.write(chunk.subarray(0, Math.max(0, cut.afterBytes - forwarded)));
        forwarded = cut.afterBytes;
        entry.cut = true;
        upstream.destroy();
        req.socket.destroy();
        return;
      }
      forwarded += chunk.length;
      if (!upstream.write(chunk)) {
        req.pause();
        upstream.once("drain", () => req.resume());
      }
    });
    req.on("end", () => upstream.end());
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    port,
    log,
    count: (kind) => log.filter((e) => e.kind === kind).length,
    failNext: (kind, status, headers, skip = 0) =>
      failures.push({ kind, status, skip, ...(headers ? { headers } : {}) }),
    cutNext: (kind, afterBytes, skip = 0) => cuts.push({ kind, afterBytes, skip }),
    hangNext: (kind) => hangs.push(kind),
    reset: () => {
      log.length = 0;
      failures.length = 0;
      cuts.length = 0;
      hangs.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
