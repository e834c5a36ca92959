/**
 * `WWW-Authenticate` parsing (RFC 7235 auth-params), as registries send it:
 * `Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull"`
 * or `Basic realm="Registry Realm"`. Quoted values may hold commas (a scope's `pull,push`).
 */
export interface AuthChallenge {
  scheme: "basic" | "bearer";
  params: Record<string, string>;
}

export function parseChallenges(header: string | string[] | undefined): AuthChallenge[] {
  if (!header) return [];
  const headers = Array.isArray(header) ? header : [header];
  const out: AuthChallenge[] = [];
  for (const h of headers) out.push(...parseOne(h));
  return out;
}

function parseOne(input: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let i = 0;
  let current: AuthChallenge | undefined;
  const skipSpaceAndCommas = () => {
    while (i < input.length && (input[i] === " " || input[i] === "," || input[i] === "\t")) i++;
  };
  while (i < input.length) {
    skipSpaceAndCommas();
    const tokenMatch = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(input.slice(i));
    if (!tokenMatch) break;
    const token = tokenMatch[0];
    i += token.length;
    while (input[i] === " ") i++;
    if (input[i] === "=") {
      i++;
      while (input[i] === " ") i++;
      let value = "";
      if (input[i] === '"') {
        i++;
        while (i < input.length && input[i] !== '"') {
          if (input[i] === "\\" && i + 1 < input.length) i++;
          value += input[i];
          i++;
        }
        i++;
      } else {
        const m = /^[^,\s]*/.exec(input.slice(i));
        value = m ? m[0] : "";
        i += value.length;
      }
      if (current) current.params[token.toLowerCase()] = value;
    } else {
      const scheme = token.toLowerCase();
      current = scheme === "basic" || scheme === "bearer" ? { scheme, params: {} } : undefined;
      if (current) challenges.push(current);
    }
  }
  return challenges;
}
