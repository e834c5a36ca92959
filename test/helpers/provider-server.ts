import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { projectRoot } from "./fixtures";

/* The generated gRPC stubs shipped inside @pulumi/pulumi (CommonJS, untyped). */
type Struct = { toJavaScript(): Record<string, unknown> };
interface ProtoMessage {
  [setter: string]: unknown;
}
const pulumiDir = path.join(projectRoot, "node_modules", "@pulumi", "pulumi");
// biome-ignore lint/suspicious/noExplicitAny: generated protobuf stubs carry no types
type Untyped = any;
const grpc: Untyped = require(path.join(projectRoot, "node_modules", "@grpc", "grpc-js"));
const provproto: Untyped = require(path.join(pulumiDir, "proto", "provider_pb"));
const provrpc: Untyped = require(path.join(pulumiDir, "proto", "provider_grpc_pb"));
const structproto: Untyped = require(
  path.join(projectRoot, "node_modules", "google-protobuf", "google", "protobuf", "struct_pb"),
);

export interface CheckFailure {
  property: string;
  reason: string;
}

export type DiffChanges = "none" | "some" | "unknown";

export interface RpcRecord {
  method: string;
  request: unknown;
  response?: unknown;
  error?: string;
}

/**
 * `@pulumi/pulumi`'s own dynamic-provider server (cmd/dynamic-provider), started the way the engine
 * starts a plugin: in the program directory (whose node_modules holds pulumi-distroless), printing
 * its port. Calls go over real gRPC with the generated stubs. Every request, response and every
 * byte the process prints is recorded, so tests can assert on all of it.
 */
export class ProviderServer {
  readonly calls: RpcRecord[] = [];
  output = "";
  private constructor(
    private readonly child: ChildProcess,
    private readonly client: Untyped,
    readonly programDir: string,
  ) {}

  static async start(options: { env?: NodeJS.ProcessEnv } = {}): Promise<ProviderServer> {
    const programDir = mkdtempSync(path.join(os.tmpdir(), "pd-program-"));
    mkdirSync(path.join(programDir, "node_modules"));
    symlinkSync(projectRoot, path.join(programDir, "node_modules", "pulumi-distroless"), "dir");
    const child = spawn(
      process.execPath,
      [path.join(pulumiDir, "cmd", "dynamic-provider", "index.js"), "127.0.0.1:1"],
      {
        cwd: programDir,
        env: { ...process.env, ...options.env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    const port = await new Promise<number>((resolve, reject) => {
      const onData = (d: Buffer) => {
        output += d.toString();
        const m = /^(\d+)\n/.exec(output);
        if (m) resolve(Number(m[1]));
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", (d: Buffer) => {
        output += d.toString();
      });
      child.on("exit", (code) => reject(new Error(`dynamic-provider exited with ${code}: ${output}`)));
      setTimeout(
        () => reject(new Error(`dynamic-provider did not print its port: ${output}`)),
        30_000,
      ).unref();
    });
    const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const server = new ProviderServer(child, client, programDir);
    server.output = output;
    child.stdout!.on("data", (d: Buffer) => {
      server.output += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      server.output += d.toString();
    });
    return server;
  }

  async stop(): Promise<void> {
    this.client.close();
    if (this.child.exitCode === null) {
      this.child.kill("SIGTERM");
      await new Promise((r) => this.child.once("exit", r));
    }
    rmSync(this.programDir, { recursive: true, force: true });
  }

  private call<T>(
    method: string,
    request: ProtoMessage,
    record: unknown,
    convert: (resp: Untyped) => T,
  ): Promise<T> {
    const entry: RpcRecord = { method, request: record };
    this.calls.push(entry);
    return new Promise((resolve, reject) => {
      this.client[method](
        request,
        { deadline: Date.now() + 20 * 60_000 },
        (err: Error | null, resp: Untyped) => {
          if (err) {
            entry.error = err.message;
            reject(err);
            return;
          }
          const value = convert(resp);
          entry.response = value;
          resolve(value);
        },
      );
    });
  }

  check(urn: string, olds: Record<string, unknown>, news: Record<string, unknown>) {
    const req = new provproto.CheckRequest();
    req.setUrn(urn);
    req.setOlds(structproto.Struct.fromJavaScript(olds));
    req.setNews(structproto.Struct.fromJavaScript(news));
    return this.call("check", req, { urn, olds, news }, (resp) => ({
      inputs: (resp.getInputs() as Struct).toJavaScript(),
      failures: resp.getFailuresList().map((f: Untyped) => ({
        property: String(f.getProperty()),
        reason: String(f.getReason()),
      })) as CheckFailure[],
    }));
  }

  diff(
    id: string,
    urn: string,
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
    oldInputs: Record<string, unknown>,
  ) {
    const req = new provproto.DiffRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setOlds(structproto.Struct.fromJavaScript(olds));
    req.setNews(structproto.Struct.fromJavaScript(news));
    req.setOldInputs(structproto.Struct.fromJavaScript(oldInputs));
    const names: Record<number, DiffChanges> = { 0: "unknown", 1: "none", 2: "some" };
    return this.call("diff", req, { id, urn, olds, news }, (resp) => ({
      changes: names[resp.getChanges() as number] ?? "unknown",
      replaces: resp.getReplacesList() as string[],
    }));
  }

  create(urn: string, properties: Record<string, unknown>) {
    const req = new provproto.CreateRequest();
    req.setUrn(urn);
    req.setProperties(structproto.Struct.fromJavaScript(properties));
    return this.call("create", req, { urn, properties }, (resp) => ({
      id: resp.getId() as string,
      properties: (resp.getProperties() as Struct).toJavaScript(),
    }));
  }

  update(
    id: string,
    urn: string,
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
    oldInputs: Record<string, unknown>,
  ) {
    const req = new provproto.UpdateRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setOlds(structproto.Struct.fromJavaScript(olds));
    req.setNews(structproto.Struct.fromJavaScript(news));
    req.setOldInputs(structproto.Struct.fromJavaScript(oldInputs));
    return this.call("update", req, { id, urn, olds, news }, (resp) => ({
      properties: (resp.getProperties() as Struct).toJavaScript(),
    }));
  }

  read(id: string, urn: string, properties: Record<string, unknown>, inputs: Record<string, unknown>) {
    const req = new provproto.ReadRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setProperties(structproto.Struct.fromJavaScript(properties));
    req.setInputs(structproto.Struct.fromJavaScript(inputs));
    return this.call("read", req, { id, urn, properties }, (resp) => ({
      id: resp.getId() as string,
      properties: (resp.getProperties() as Struct).toJavaScript(),
      inputs: resp.getInputs() ? (resp.getInputs() as Struct).toJavaScript() : undefined,
    }));
  }

  delete(id: string, urn: string, properties: Record<string, unknown>) {
    const req = new provproto.DeleteRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setProperties(structproto.Struct.fromJavaScript(properties));
    return this.call("delete", req, { id, urn, properties }, () => ({}));
  }
}
