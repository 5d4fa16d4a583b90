// Preloaded with `node --import` into the MCP conformance suite, which has no
// auth option: every fetch it makes carries the bearer token from
// MCPSHARE_TOKEN, so the suite can run against a protected MCP URL.
const token = process.env.MCPSHARE_TOKEN;
const originalFetch = globalThis.fetch;
globalThis.fetch = (input, init = {}) => {
  const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
  if (token && !headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
  return originalFetch(input, { ...init, headers });
};
