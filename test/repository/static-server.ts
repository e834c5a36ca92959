import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after } from "node:test";

/**
 * A real HTTP server on 127.0.0.1 (random port) serving files for the repository tests: strong
 * ETags and Last-Modified from the content, 304 on If-None-Match, request counting, one-shot
 * injected failures (500, 429), optional basic auth, and swappable content to simulate a publish.
 */
export class StaticServer {
  readonly requests: { method: string; path: string; conditional: boolean; status: number }[] = [];
  private readonly routes = new Map<string, Buffer>();
  private readonly failures = new Map<string, number[]>();
  private auth: { user: string; pass: string } | undefined;
  private server: http.Server | undefined;
  /** Drop the connection (no response) for the next N requests. */
  resetNext = 0;
  /** Send only the first `bytes` of `path`, then hold the connection open (a download cut short). */
  stall: { path: string; bytes: number } | undefined;
  url = "";

  /** Serves `data` (or a file's bytes, read now) at `urlPath`. */
  set(urlPath: string, data: Buffer | string): this {
    this.routes.set(urlPath, typeof data === "string" ? fs.readFileSync(data) : data);
    return this;
  }

  /** The next requests for `urlPath` answer with these statuses, one each, before serving normally. */
  failNext(urlPath: string, ...statuses: number[]): this {
    this.failures.set(urlPath, [...(this.failures.get(urlPath) ?? []), ...statuses]);
    return this;
  }

  requireBasicAuth(user: string, pass: string): this {
    this.auth = { user, pass };
    return this;
  }

  count(urlPath: string): number {
    return this.requests.filter((r) => r.path === urlPath).length;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    after(() => this.stop());
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const s = this.server;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const urlPath = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const conditional =
      req.headers["if-none-match"] !== undefined || req.headers["if-modified-since"] !== undefined;
    const record = (status: number) =>
      this.requests.push({ method: req.method ?? "", path: urlPath, conditional, status });
    if (this.resetNext > 0) {
      this.resetNext--;
      record(0);
      req.socket.destroy();
      return;
    }
    if (this.auth) {
      const expected = `Basic ${Buffer.from(`${this.auth.user}:${this.auth.pass}`).toString("base64")}`;
      if (req.headers.authorization !== expected) {
        record(401);
        res.writeHead(401, { "www-authenticate": 'Basic realm="test"' }).end();
        return;
      }
    }
    const queued = this.failures.get(urlPath);
    if (queued && queued.length > 0) {
      const status = queued.shift()!;
      record(status);
      res.writeHead(status, status === 429 ? { "retry-after": "0" } : {}).end(`injected ${status}`);
      return;
    }
    const body = this.routes.get(urlPath);
    if (!body) {
      record(404);
      res.writeHead(404).end("not found");
      return;
    }
    const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"`;
    if (req.headers["if-none-match"] === etag) {
      record(304);
      res.writeHead(304, { etag }).end();
      return;
    }
    record(200);
    if (this.stall && this.stall.path === urlPath) {
      res.writeHead(200, { etag, "content-length": body.length });
      res.write(body.subarray(0, this.stall.bytes));
      return;
    }
    res.writeHead(200, {
      etag,
      "last-modified": new Date(0).toUTCString(),
      "content-length": body.length,
      "content-type": "application/octet-stream",
    });
    res.end(body);
  }
}
