// Preloaded with `node --import` into the MCP conformance suite, which has no
// auth option: every request it makes, through fetch, undici's request or
// node:http (the last two for raw header tests), carries the bearer token from
// MCPSHARE_TOKEN, so the suite can run against a protected MCP URL.
import http from "node:http";
import { syncBuiltinESMExports } from "node:module";
import { getGlobalDispatcher, setGlobalDispatcher } from "undici";

const token = process.env.MCPSHARE_TOKEN;
if (token) {
  const originalFetch = globalThis.fetch;
  globalThis.fetch = (input, init = {}) => {
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    if (!headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
    return originalFetch(input, { ...init, headers });
  };
  setGlobalDispatcher(getGlobalDispatcher().compose((dispatch) => (opts, handler) => {
    const auth = `Bearer ${token}`;
    let headers = opts.headers ?? {};
    if (Array.isArray(headers)) {
      const has = headers.some((v, i) => i % 2 === 0 && String(v).toLowerCase() === "authorization");
      headers = has ? headers : [...headers, "authorization", auth];
    } else if (!Object.keys(headers).some((k) => k.toLowerCase() === "authorization")) {
      headers = { ...headers, authorization: auth };
    }
    return dispatch({ ...opts, headers }, handler);
  }));

  const originalRequest = http.request;
  http.request = (options, ...rest) => {
    if (options && typeof options === "object" && !(options instanceof URL)) {
      const headers = { ...(options.headers ?? {}) };
      if (!Object.keys(headers).some((k) => k.toLowerCase() === "authorization")) headers.authorization = `Bearer ${token}`;
      options = { ...options, headers };
    }
    return originalRequest(options, ...rest);
  };
  syncBuiltinESMExports();
}
