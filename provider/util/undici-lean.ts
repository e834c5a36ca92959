import type { Agent, buildConnector, Dispatcher } from "undici";
import { deferredTrust, hasDeferredCaCertificates } from "./extra-ca-certs";

/**
 * The two parts of undici we use (`request` and `Agent`), loaded on first use and from their own
 * modules. `require("undici")` also loads fetch, WebSocket, EventSource, cookies, caches and mocks:
 * ~60 ms of every command's start-up, paid even by commands that read only local repositories.
 * If a later undici moves these files, the package's index is loaded instead (slower, same API).
 */

type Undici = typeof import("undici");
export type RequestOptions = Omit<Dispatcher.RequestOptions, "origin" | "path"> & {
  dispatcher?: Dispatcher;
};
type RequestFn = (url: string | URL, options: RequestOptions) => Promise<Dispatcher.ResponseData>;

interface Lean {
  Agent: Undici["Agent"];
  request: RequestFn;
  buildConnector: Undici["buildConnector"];
}

let loaded: Lean | undefined;
const loadHooks: (() => void)[] = [];

/**
 * Runs `hook` just before undici first loads (before it can compile its WebAssembly HTTP parser):
 * where the command line sets V8 flags for it (cli/wasm-tiering.ts).
 */
export function beforeHttpClientLoads(hook: () => void): void {
  if (loaded) return;
  loadHooks.push(hook);
}

function load(): Lean {
  if (loaded) return loaded;
  for (const hook of loadHooks.splice(0)) hook();
  try {
    const AgentClass = require("undici/lib/dispatcher/agent") as Undici["Agent"];
    const apiRequest = require("undici/lib/api/api-request") as (
      this: Dispatcher,
      options: Dispatcher.RequestOptions,
    ) => Promise<Dispatcher.ResponseData>;
    const { getGlobalDispatcher } = require("undici/lib/global") as Pick<Undici, "getGlobalDispatcher">;
    loaded = {
      Agent: AgentClass,
      buildConnector: require("undici/lib/core/connect") as Undici["buildConnector"],
      // What undici's own `request(url, options)` does: split the URL into origin and path and
      // dispatch on the given dispatcher or the global one.
      request: (url, options) => {
        const u = typeof url === "string" ? new URL(url) : url;
        const { dispatcher, ...rest } = options;
        return apiRequest.call(dispatcher ?? defaultDispatcher() ?? getGlobalDispatcher(), {
          ...rest,
          origin: u.origin,
          path: `${u.pathname}${u.search}`,
        });
      },
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw err;
    const undici = require("undici") as Undici;
    loaded = {
      Agent: undici.Agent,
      buildConnector: undici.buildConnector,
      request: (url, { dispatcher, ...rest }) => {
        const chosen = dispatcher ?? defaultDispatcher();
        return undici.request(url, chosen ? { ...rest, dispatcher: chosen } : rest);
      },
    };
  }
  return loaded;
}

/** undici's `request`, loading undici on the first call. */
export function request(url: string | URL, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  return load().request(url, options);
}

/** A new undici `Agent`, loading undici on the first call. */
export function newAgent(options: Agent.Options): Agent {
  const lean = load();
  // HTTP/1.1 only: the bundled CLI leaves undici's HTTP/2 client out (scripts/build-cli.mjs).
  const h1 = { ...options, allowH2: false };
  if (!hasDeferredCaCertificates() || typeof options.connect === "function") return new lean.Agent(h1);
  return new lean.Agent({ ...h1, connect: deferredCaConnector(lean, options.connect ?? {}) });
}

let shared: Agent | undefined;

/** For requests without a dispatcher: undici's global one, unless its TLS must get deferred CAs. */
function defaultDispatcher(): Dispatcher | undefined {
  if (!hasDeferredCaCertificates()) return undefined;
  shared ??= newAgent({});
  return shared;
}

/**
 * undici's own connector, given the deferred extra CAs (util/extra-ca-certs.ts) on the first TLS
 * connection: plain-HTTP connections never read the file. An agent's own `ca` list (a registry's CA
 * bundle beside the defaults) gets them added, where Node would have left them out.
 */
function deferredCaConnector(lean: Lean, options: buildConnector.BuildOptions): buildConnector.connector {
  const { ca, ...rest } = options as buildConnector.BuildOptions & {
    ca?: string | Buffer | (string | Buffer)[];
    rejectUnauthorized?: boolean;
  };
  const list = ca === undefined ? undefined : [ca].flat();
  let plain: buildConnector.connector | undefined;
  let secure: buildConnector.connector | undefined;
  return (opts, callback) => {
    // Unverified TLS (an insecure registry's https probe) checks no CA: nothing to read for it.
    if (opts.protocol !== "https:" || rest.rejectUnauthorized === false) {
      plain ??= lean.buildConnector(options);
      return plain(opts, callback);
    }
    if (!secure) {
      try {
        secure = lean.buildConnector({ ...rest, secureContext: deferredTrust(list) });
      } catch (err) {
        callback(err as Error, null);
        return;
      }
    }
    return secure(opts, callback);
  };
}
