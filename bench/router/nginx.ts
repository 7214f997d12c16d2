/**
 * nginx 1.22 from Debian as the gateway's peer in bench:router: installed with apt-get when missing
 * (root only), started in the foreground on a free loopback port with a generated config — one
 * worker (the gateway is one Node.js thread), access log off, `proxy_pass` to an upstream with
 * `keepalive` connections and HTTP/1.1 — the configuration a reverse proxy in front of vLLM uses.
 * A peer that cannot be had comes back with the reason, never a stand-in.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, installMissing } from '../kv/local-peers.js';

export interface Nginx {
  readonly url: string;
  readonly version: string;
  readonly workers: number;
  stop(): Promise<void>;
}

export type NginxResult = { readonly ok: true; readonly nginx: Nginx } | { readonly ok: false; readonly reason: string };

export interface NginxOptions {
  /** Upstream host:port (the mock engine). */
  readonly upstream: string;
  /** worker_processes (default 1). */
  readonly workers?: number;
  /** Idle keep-alive connections nginx keeps to the upstream (default 128). */
  readonly keepalive?: number;
}

export function nginxConfig(dir: string, port: number, opts: NginxOptions): string {
  return `worker_processes ${opts.workers ?? 1};
daemon off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  upstream engine {
    server ${opts.upstream};
    keepalive ${opts.keepalive ?? 128};
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://engine;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

function version(): string {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  return /nginx\/(\S+)/.exec(`${r.stderr}${r.stdout}`)?.[1] ?? 'unknown';
}

async function waitForPort(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}`);
    try {
      await fetch(`${url}/health`);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nginx did not answer on ${url} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function startNginx(opts: NginxOptions): Promise<NginxResult> {
  const problems = installMissing({ nginx: 'nginx-light' });
  if (problems.nginx !== undefined) return { ok: false, reason: problems.nginx };
  const dir = mkdtempSync(join(tmpdir(), 'brixlet-nginx-'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(dir, port, opts));
  const child = spawn('nginx', ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForPort(url, child, 5000);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    return { ok: false, reason: `${(err as Error).message}: ${stderr.trim()}` };
  }
  return {
    ok: true,
    nginx: {
      url,
      version: version(),
      workers: opts.workers ?? 1,
      stop: () =>
        new Promise<void>((resolve) => {
          const done = (): void => {
            rmSync(dir, { recursive: true, force: true });
            resolve();
          };
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', done);
          // SIGQUIT: graceful stop of the master and its worker.
          child.kill('SIGQUIT');
        }),
    },
  };
}
