import { createSign, randomBytes } from "node:crypto";
import * as http from "node:http";
import type * as net from "node:net";
import type { IssuedCert, TestCa } from "./test-ca";

/**
 * A small docker-token-spec issuer on 127.0.0.1 for the registry's `auth.token` mode. It checks
 * Basic credentials, grants the requested actions to known users (and none to anonymous callers),
 * and signs RS256 JWTs carrying the signing certificate in `x5c`: distribution 2.8 verifies that
 * chain against its `rootcertbundle` (a bare `kid` would have to be a libtrust key fingerprint).
 * Claims: `iss` = the configured issuer, `aud` = the service, `access` = granted scopes.
 */
export interface TokenIssuer {
  realm: string;
  service: string;
  issuer: string;
  /** The CA certificate the registry's `rootcertbundle` must hold. */
  rootCertBundlePem: string;
  /** Every token request: its scopes, user (or undefined), and whether it was granted. */
  requests: { scopes: string[]; user: string | undefined; status: number }[];
  /** Issue the next `n` tokens already expired (past the registry's 60 s leeway): tests refresh on 401. */
  expireNext(n: number): void;
  stop(): Promise<void>;
}

export interface TokenIssuerOptions {
  ca: TestCa;
  users: Record<string, string>;
  service?: string;
  issuer?: string;
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

export async function startTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const service = options.service ?? "pd-test-registry";
  const issuer = options.issuer ?? "pd-test-issuer";
  const signing: IssuedCert = options.ca.issue({ commonName: "pd-test token signer" });
  const expiresIn = options.expiresIn ?? 300;
  const requests: TokenIssuer["requests"] = [];
  let expireCount = 0;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/token") {
      res.writeHead(404).end();
      return;
    }
    const scopes = url.searchParams
      .getAll("scope")
      .flatMap((s) => s.split(" "))
      .filter(Boolean);
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith("Basic ")) {
      const decoded = Buffer.from(auth.slice(6), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      const name = decoded.slice(0, colon);
      if (options.users[name] === undefined || options.users[name] !== decoded.slice(colon + 1)) {
        requests.push({ scopes, user: name, status: 401 });
        res
          .writeHead(401, { "content-type": "application/json" })
          .end(JSON.stringify({ details: "bad credentials" }));
        return;
      }
      user = name;
    }
    if (url.searchParams.get("service") !== service) {
      requests.push({ scopes, user, status: 400 });
      res.writeHead(400).end();
      return;
    }
    // Known users get what they ask for; anonymous callers get a token with no access at all.
    const access = user
      ? scopes.map((s) => {
          const [type, ...rest] = s.split(":");
          const actions = rest.pop() ?? "";
          return { type, name: rest.join(":"), actions: actions.split(",").filter(Boolean) };
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const expired = expireCount > 0;
    if (expired) expireCount--;
    const claims = {
      iss: issuer,
      sub: user ?? "",
      aud: service,
      exp: expired ? now - 600 : now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(12).toString("hex"),
      access,
    };
    const headerJson = { typ: "JWT", alg: "RS256", x5c: [signing.certDerBase64] };
    const signingInput = `${b64url(JSON.stringify(headerJson))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign("RSA-SHA256").update(signingInput).sign(signing.keyPem);
    const token = `${signingInput}.${b64url(signature)}`;
    requests.push({ scopes, user, status: 200 });
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundlePem: options.ca.certPem,
    requests,
    expireNext: (n) => {
      expireCount = n;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
