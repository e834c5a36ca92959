import type { Agent, Dispatcher } from "undici";

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
}

let loaded: Lean | undefined;

function load(): Lean {
  if (loaded) return loaded;
  try {
    const AgentClass = require("undici/lib/dispatcher/agent") as Undici["Agent"];
    const apiRequest = require("undici/lib/api/api-request") as (
      this: Dispatcher,
      options: Dispatcher.RequestOptions,
    ) => Promise<Dispatcher.ResponseData>;
    const { getGlobalDispatcher } = require("undici/lib/global") as Pick<Undici, "getGlobalDispatcher">;
    loaded = {
      Agent: AgentClass,
      // What undici's own `request(url, options)` does: split the URL into origin and path and
      // dispatch on the given dispatcher or the global one.
      request: (url, options) => {
        const u = typeof url === "string" ? new URL(url) : url;
        const { dispatcher, ...rest } = options;
        return apiRequest.call(dispatcher ?? getGlobalDispatcher(), {
          ...rest,
          origin: u.origin,
          path: `${u.pathname}${u.search}`,
        });
      },
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw err;
    const undici = require("undici") as Undici;
    loaded = { Agent: undici.Agent, request: (url, options) => undici.request(url, options) };
  }
  return loaded;
}

/** undici's `request`, loading undici on the first call. */
export function request(url: string | URL, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  return load().request(url, options);
}

/** A new undici `Agent`, loading undici on the first call. */
export function newAgent(options: Agent.Options): Agent {
  return new (load().Agent)(options);
}
