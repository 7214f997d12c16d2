#!/usr/bin/env node
// The image's HEALTHCHECK (Docker, podman --format docker; Kubernetes ignores it and uses the chart's
// probes). One image runs `brixlet agent`, `brixlet coordinator` or `brixlet up`, so it asks every
// component that may run in the container for GET /healthz on loopback:
//   agent    http://127.0.0.1:$BRIXLET_AGENT_PORT/healthz    (default 9464)
//   control  http://127.0.0.1:$BRIXLET_CONTROL_PORT/healthz  (default 8081, the coordinator)
// Healthy (exit 0) when at least one answers 200 and none answers anything else; a refused
// connection means that component does not run here. BRIXLET_HEALTHCHECK_URL (comma-separated URLs)
// replaces the list, e.g. when the ports come from a config file rather than flags or env.
/* global fetch, AbortSignal */
const TIMEOUT_MS = 4_000;

const port = (name, fallback) => {
  const v = process.env[name];
  return v !== undefined && /^\d+$/.test(v.trim()) && Number(v) > 0 ? Number(v) : fallback;
};
const urls = process.env.BRIXLET_HEALTHCHECK_URL
  ? process.env.BRIXLET_HEALTHCHECK_URL.split(',').map((u) => u.trim()).filter(Boolean)
  : [`http://127.0.0.1:${port('BRIXLET_AGENT_PORT', 9464)}/healthz`, `http://127.0.0.1:${port('BRIXLET_CONTROL_PORT', 8081)}/healthz`];

const refused = (err) => {
  for (let e = err; e !== undefined && e !== null; e = e.cause) if (e.code === 'ECONNREFUSED') return true;
  return false;
};

const results = await Promise.all(
  urls.map(async (url) => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      await res.body?.cancel();
      return { url, state: res.status === 200 ? 'ok' : `HTTP ${res.status}` };
    } catch (err) {
      return { url, state: refused(err) ? 'absent' : `error: ${err instanceof Error ? err.message : String(err)}` };
    }
  }),
);
const bad = results.filter((r) => r.state !== 'ok' && r.state !== 'absent');
const ok = results.filter((r) => r.state === 'ok');
for (const r of results) process.stdout.write(`${r.url} ${r.state}\n`);
process.exitCode = bad.length === 0 && ok.length > 0 ? 0 : 1;
