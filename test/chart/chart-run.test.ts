// The pods the chart renders, run here as processes: the init containers (the Secret written to 0600
// files, the node token derived with `brixlet token node`), then the coordinator and the agent with
// exactly the rendered args and env (pod paths mapped to a scratch directory, $(NODE_NAME)/$(POD_IP)
// filled in as the kubelet would). The agent reports to the coordinator with its derived node token,
// and both stop cleanly on SIGTERM. Needs the pinned helm and the built CLI (dist/); skips otherwise.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { cliMain, type Container, exited, killAll, localPodValues, podOf, podRunner, renderChart, root, run, why } from './chart-pod.js';

const interposerBuilt = existsSync(join(root, 'native', 'build', 'libbrixlet-inject.so'));
const NODE = 'gpu-node-1';
if (why !== '') console.warn(`chart run test skipped: ${why}`);

const scratch = mkdtempSync(join(tmpdir(), 'brixlet-chart-run-'));
const shm = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brixlet-chart-run-'));
const children: ChildProcess[] = [];
afterAll(() => {
  killAll(children);
  rmSync(scratch, { recursive: true, force: true });
  rmSync(shm, { recursive: true, force: true });
});

describe.skipIf(why !== '')('the rendered pods run', () => {
  it('init containers, coordinator and agent (token auth, simulated GPUs): the agent reports, both drain on SIGTERM', async () => {
    const [agentPort, controlPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
    const values = [
      'agent.accel.backend=sim:healthy-8x-h100',
      'coordinator.control.auth=token',
      ...localPodValues(join(scratch, 'run'), join(shm, 'slabs'), { agentPort, controlPort, gatewayPort }),
      // With faults on, the interposer init container copies the image's /opt/brixlet libraries (here: native/build).
      ...(interposerBuilt ? ['agent.faults.enabled=true'] : []),
    ].flatMap((v) => ['--set', v]);
    const objects = await renderChart('brx', values, join(scratch, 'helm-home'));

    // Pod paths → scratch directories (the emptyDirs); the Service DNS name → loopback.
    const paths: [string, string][] = [
      ['/var/run/brixlet-secrets', join(scratch, 'secrets')],
      ['/var/run/brixlet-scratch', join(scratch, 'init-scratch')],
      ['r-brixlet-coordinator.brx.svc', '127.0.0.1'],
      ['/opt/brixlet', join(root, 'native', 'build')],
    ];
    for (const [, dir] of paths.slice(0, 2)) mkdirSync(dir as string, { recursive: true });
    mkdirSync(join(scratch, 'run'), { mode: 0o755 });
    const { runInit, start } = podRunner({ objects, node: NODE, paths, home: scratch, children });

    const coordinatorPod = podOf(objects, 'Deployment', 'r-brixlet-coordinator');
    const agentPod = podOf(objects, 'DaemonSet', 'r-brixlet-agent');
    for (const c of coordinatorPod.initContainers ?? []) await runInit(c);
    // host-dirs chowns the hostPath directories to uid 65532 as root: run here, the agent (this uid) would lose them; its script has its own test.
    for (const c of agentPod.initContainers ?? []) if (c.name !== 'host-dirs') await runInit(c);
    if (interposerBuilt) {
      // Engine pods LD_PRELOAD <runDir>/lib/libbrixlet-inject.so: the three libraries, byte for byte, 0755.
      const libDir = join(scratch, 'run', 'lib');
      const libs = readdirSync(libDir).sort();
      expect(libs).toEqual(['libbrixlet-inject-dcmi.so', 'libbrixlet-inject-nvml.so', 'libbrixlet-inject.so']);
      for (const n of libs) {
        expect(statSync(join(libDir, n)).mode & 0o777, n).toBe(0o755);
        expect(readFileSync(join(libDir, n)).equals(readFileSync(join(root, 'native', 'build', n))), n).toBe(true);
      }
      // A restart of the pod (or an upgrade) replaces them in place.
      const init = agentPod.initContainers?.find((c) => c.name === 'interposer') as Container;
      await runInit(init);
      expect(readdirSync(libDir).sort()).toEqual(libs);
    } else console.warn('chart run test: native/build has no interposer (gcc/make missing at npm ci); its init container is not run');

    const coordinator = start(coordinatorPod.containers[0] as Container);
    const agent = start(agentPod.containers[0] as Container);
    const control = `http://127.0.0.1:${controlPort}`;
    await expect
      .poll(
        async () => {
          if (coordinator.proc.exitCode !== null || agent.proc.exitCode !== null) throw new Error(`a process exited:\n${coordinator.log()}\n${agent.log()}`);
          const res = await fetch(`${control}/v1/nodes`).catch(() => undefined);
          const body = res?.ok ? ((await res.json()) as { nodes: { name: string }[] }) : { nodes: [] };
          return body.nodes.map((n) => n.name);
        },
        { timeout: 30_000, interval: 200 },
      )
      .toEqual([NODE]);
    expect((await fetch(`http://127.0.0.1:${agentPort}/readyz`)).status).toBe(200);
    const gpus = (await (await fetch(`http://127.0.0.1:${agentPort}/v1/accelerators`)).json()) as { devices?: unknown[] };
    expect(gpus.devices).toHaveLength(8);

    agent.proc.kill('SIGTERM');
    coordinator.proc.kill('SIGTERM');
    expect([await exited(agent.proc), await exited(coordinator.proc)], `${coordinator.log()}\n${agent.log()}`).toEqual([0, 0]);
  }, 90_000);
});

// The default security context for real: the agent as uid 65532 over hostPath directories the kubelet
// made (root 0755). Without the host-dirs init container it cannot start; with it (run as root, the
// way the chart runs it) it serves its KV shard. Needs root and setpriv here to switch uids.
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
const nonRootWhy = why !== '' ? why : process.getuid?.() !== 0 ? 'not running as root (cannot switch to uid 65532)' : setpriv === undefined ? 'no setpriv' : '';
if (why === '' && nonRootWhy !== '') console.warn(`chart non-root run test skipped: ${nonRootWhy}`);

describe.skipIf(nonRootWhy !== '')('the agent as the chart runs it: non-root over kubelet-made hostPath directories', () => {
  it('fails without the host-dirs init container and serves its KV shard after it', async () => {
    const base = mkdtempSync(join(shm, 'nonroot-'));
    chmodSync(base, 0o755); // the test's scratch must be traversable by uid 65532, as / is on a node
    chmodSync(shm, 0o755);
    const runDir = join(base, 'run');
    const kvDir = join(base, 'slabs');
    const port = await freePort();
    const values = ['agent.accel.backend=sim:healthy-8x-h100', 'coordinator.control.enabled=false', `agent.runDir=${runDir}`, `agent.kv.dir=${kvDir}`, 'agent.kv.capacityMiB=16', 'agent.kv.slabSizeMiB=16', 'agent.kv.peerPort=0', `agent.port=${port}`].flatMap((v) => ['--set', v]);
    const ds = (await renderChart('brx', values, join(scratch, 'helm-home'))).find((o) => o.kind === 'DaemonSet');
    const spec = ds?.spec?.template.spec as { containers: Container[]; initContainers?: Container[]; securityContext: { runAsUser: number; runAsGroup: number } };
    const { runAsUser: uid, runAsGroup: gid } = spec.securityContext;
    expect([uid, gid]).toEqual([65532, 65532]);
    const agent = spec.containers[0] as Container;
    expect(agent.args?.some((a) => a.startsWith('--agent.coordinator='))).toBe(false);
    const argv = [cliMain, ...(agent.args ?? []).map((a) => a.replace('$(NODE_NAME)', NODE).replace('$(POD_IP)', '127.0.0.1'))];
    const asAgent = (): { proc: ChildProcess; log: () => string } => {
      let log = '';
      const proc = spawn(setpriv as string, ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', process.execPath, ...argv], { env: { PATH: process.env.PATH, HOME: '/tmp' }, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
      proc.stdout?.on('data', (b: Buffer) => (log += b.toString()));
      proc.stderr?.on('data', (b: Buffer) => (log += b.toString()));
      children.push(proc);
      return { proc, log: () => log };
    };

    // What the kubelet does for hostPath DirectoryOrCreate: root-owned 0755 directories.
    for (const d of [runDir, kvDir]) mkdirSync(d, { mode: 0o755 });
    const before = asAgent();
    expect(await exited(before.proc), before.log()).not.toBe(0);
    expect(before.log()).toMatch(/EACCES|permission denied|BRX_ERR_KV/i);

    // The chart's host-dirs init container (as root, CAP_CHOWN), with its rendered arguments.
    const init = spec.initContainers?.find((c) => c.name === 'host-dirs');
    const [node, ...rest] = init?.command ?? [];
    expect(node).toBe('node');
    await run(process.execPath, rest);
    expect([statSync(runDir).uid, statSync(runDir).mode & 0o777, statSync(kvDir).uid, statSync(kvDir).mode & 0o777]).toEqual([uid, 0o755, uid, 0o750]);

    const after = asAgent();
    await expect
      .poll(
        async () => {
          if (after.proc.exitCode !== null) throw new Error(`the agent exited:\n${after.log()}`);
          return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status;
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBe(200);
    const sock = statSync(join(runDir, 'kv.sock'));
    expect([sock.isSocket(), sock.uid]).toEqual([true, uid]);
    after.proc.kill('SIGTERM');
    expect(await exited(after.proc), after.log()).toBe(0);
  }, 90_000);
});
