// An MCP client built on the official TypeScript SDK, driven the way Claude
// and MCP Inspector drive it: 401 -> discovery -> dynamic registration ->
// PKCE -> browser sign-in -> token -> tools. The "browser" here fetches the
// login page, fills in the form and reads the redirect, like a person would.
//
// Usage: node ts_client.mjs MCP_URL USER PASSWORD [TOOL_QUERY]
// Prints one JSON document on stdout with what it saw.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const [mcpURL, user, password, query = "welcome"] = process.argv.slice(2);
const redirectUrl = "http://127.0.0.1:6274/oauth/callback";

class Provider {
  constructor() { this.info = undefined; this.tok = undefined; this.verifier = undefined; this.code = undefined; this.authURL = undefined; }
  get redirectUrl() { return redirectUrl; }
  get clientMetadata() {
    return {
      client_name: "TS SDK end-to-end test",
      redirect_uris: [redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state() { return "ts-state-" + Math.random().toString(36).slice(2); }
  clientInformation() { return this.info; }
  saveClientInformation(info) { this.info = info; }
  tokens() { return this.tok; }
  saveTokens(t) { this.tok = t; }
  saveCodeVerifier(v) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
  async redirectToAuthorization(url) { this.authURL = url; this.code = await browserSignIn(url); }
}

// browserSignIn does what the person does in the browser: open the
// authorization URL, type the user name and password, submit, and land on the
// redirect URI with a code.
async function browserSignIn(authURL) {
  const page = await fetch(authURL, { redirect: "manual" });
  if (page.status !== 200) throw new Error(`authorize page: HTTP ${page.status}: ${await page.text()}`);
  const html = await page.text();
  const form = html.match(/<form[^>]*action="([^"]*)"/i);
  if (!form) throw new Error("no form on the login page: " + html.slice(0, 400));
  const body = new URLSearchParams();
  for (const m of html.matchAll(/<input[^>]*>/gi)) {
    const name = m[0].match(/name="([^"]*)"/i)?.[1];
    const value = m[0].match(/value="([^"]*)"/i)?.[1] ?? "";
    if (name) body.set(name, decodeEntities(value));
  }
  body.set("username", user);
  body.set("password", password);
  const action = new URL(decodeEntities(form[1]), authURL);
  const res = await fetch(action, { method: "POST", body, redirect: "manual" });
  const loc = res.headers.get("location");
  if (res.status !== 302 && res.status !== 303) throw new Error(`login: HTTP ${res.status}: ${(await res.text()).slice(0, 400)}`);
  const back = new URL(loc);
  if (back.origin + back.pathname !== redirectUrl) throw new Error("redirected elsewhere: " + loc);
  if (back.searchParams.get("error")) throw new Error("authorization error: " + back.searchParams.get("error"));
  sawIss = back.searchParams.get("iss");
  return back.searchParams.get("code");
}

function decodeEntities(s) {
  return s.replace(/&amp;/g, "&").replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
}

let sawIss = null;
const out = { steps: [] };
const provider = new Provider();
const client = new Client({ name: "mcpshare-e2e-ts", version: "1.0.0" });

try {
  let transport = new StreamableHTTPClientTransport(new URL(mcpURL), { authProvider: provider });
  try {
    await client.connect(transport);
    out.steps.push("connected without auth (unexpected)");
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
    out.steps.push("401 -> sign-in");
    await transport.finishAuth(provider.code);
    out.steps.push("token");
    transport = new StreamableHTTPClientTransport(new URL(mcpURL), { authProvider: provider });
    await client.connect(transport);
  }
  out.registered_client = provider.info?.client_id ?? null;
  out.auth_url = provider.authURL?.toString() ?? null;
  out.iss = sawIss;
  out.protocol_version = transport.protocolVersion ?? null;
  out.session_id = transport.sessionId ?? null;
  const tools = await client.listTools();
  out.tools = tools.tools.map((t) => t.name).sort();
  const search = await client.callTool({ name: "search", arguments: { query } });
  out.search = search;
  const results = JSON.parse(search.content[0].text).results;
  if (results.length > 0) {
    out.fetch = await client.callTool({ name: "fetch", arguments: { id: results[0].id } });
  }
  out.token_type = provider.tok?.token_type ?? null;
  out.has_refresh_token = Boolean(provider.tok?.refresh_token);
  await transport.terminateSession().catch(() => {});
  await client.close();
  out.ok = true;
} catch (e) {
  out.ok = false;
  out.error = String(e?.stack ?? e);
}
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(out.ok ? 0 : 1);
