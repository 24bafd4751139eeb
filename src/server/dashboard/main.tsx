import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, getToken, setToken, unauthorized } from "./api.js";
import { FlowPage, FlowsPage } from "./flow-page.js";
import { JobPage } from "./job-page.js";
import { JobsList } from "./jobs-list.js";
import type { Health, PublicHealth } from "./types.js";
import "./style.css";

function useRoute(): string {
  const [route, setRoute] = useState(location.hash.replace(/^#/, "") || "/");
  useEffect(() => {
    const changed = (): void => setRoute(location.hash.replace(/^#/, "") || "/");
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

/** Asks for the server's token (kept in this browser's local storage). */
function TokenForm({ onSaved }: { onSaved: () => void }) {
  const [value, setValue] = useState(getToken() ?? "");
  return (
    <form class="card token" data-testid="token-form" onSubmit={(e) => {
      e.preventDefault();
      setToken(value.trim());
      onSaved();
    }}>
      <h2>This server needs a token</h2>
      <p class="muted">Paste the token the server was started with (<code>--token</code>). It stays in this browser.</p>
      <input name="token" type="password" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} autoFocus />
      <button class="primary" type="submit">Save</button>
    </form>
  );
}

function App() {
  const route = useRoute();
  const [health, setHealth] = useState<Health | null>(null);
  const [needsToken, setNeedsToken] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const ask = (): void => setNeedsToken(true);
    unauthorized.add(ask);
    return () => void unauthorized.delete(ask);
  }, []);

  useEffect(() => {
    api<PublicHealth>("/api/health").then((h) => {
      setError(null);
      // Health tells the server's flows and store only to a client with the token.
      if (h.flows === undefined) {
        setNeedsToken(true);
        return;
      }
      setHealth(h as Health);
      setNeedsToken(false);
    }).catch((e: Error) => {
      // A missing or wrong token is asked for by the token form, not shown as an error.
      if (!(e instanceof ApiError && e.status === 401)) setError(e.message);
    });
  }, [attempt]);

  const job = /^\/jobs\/([^/]+)$/.exec(route);
  const flow = /^\/flows\/([^/]+)$/.exec(route);
  let page;
  if (health === null || needsToken) page = null;
  else if (job !== null) page = <JobPage jobId={decodeURIComponent(job[1]!)} health={health} />;
  else if (flow !== null) page = <FlowPage flowId={decodeURIComponent(flow[1]!)} health={health} />;
  else if (route === "/flows") page = <FlowsPage health={health} />;
  else page = <JobsList flows={health.flows} />;

  return (
    <>
      <header>
        <a class="brand" href="#/">routilux</a>
        <nav>
          <a href="#/" class={route === "/" || route.startsWith("/jobs") ? "active" : ""}>Jobs</a>
          <a href="#/flows" class={route.startsWith("/flows") ? "active" : ""}>Flows</a>
        </nav>
        {health?.readOnly === true && <span class="badge read-only" data-testid="read-only">read-only</span>}
        <span class="store muted">{health?.store}</span>
      </header>
      <main>
        {error !== null && <div class="error" role="alert">{error}</div>}
        {needsToken && <TokenForm onSaved={() => {
          setNeedsToken(false);
          setAttempt(attempt + 1);
        }} />}
        {page}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
