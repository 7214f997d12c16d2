// The built `brixlet up --engines 2 --engine-gpus l20,a10`, spawned as a user runs it: with no
// optimizer set-up the GPU optimizer plans over the profiles shipped for the engines' GPU types from
// the gateway's live load, and the plan endpoint, explain and the log follow a shift in request
// shapes (short prompts, then long prompts with short outputs).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProfile } from '../../src/coordinator/optimizer/profiles.js';
import { repoRoot } from '../helpers/repo.js';
import { firstLine, spawnBrixlet } from './cli-process.js';

const EPHEMERAL = ['--agent.port', '0', '--gateway.port', '0', '--control.port', '0', '--no-kv.enabled'];
const MODEL = 'mock-llama-3-8b';
/** Only a hang: each wait ends as soon as the plan shows what it waits for. */
const HANG_MS = 60_000;

interface Cell {
  readonly output: number;
  readonly input: number;
}
interface Plan {
  models: { model: string; status: string; rate: number; types: Record<string, number>; split: (Cell & { shares: Record<string, number> })[] }[];
  deployments: { namespace: string; deployment: string; gpu: string; replicas?: number }[];
}
interface Explain {
  models: { model: string; load: { cells: (Cell & { share: number })[] } }[];
}

const getJson = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;

/** `n` completions of `input` token ids and `output` tokens through the gateway, a few at a time. */
async function send(gateway: string, n: number, input: number, output: number): Promise<void> {
  for (let k = 0; k < n; k += 4) {
    await Promise.all(
      Array.from({ length: Math.min(4, n - k) }, async (_, j) => {
        const prompt = Array.from({ length: input }, (_, t) => (7 * (k + j) + t) % 30_000);
        const res = await fetch(`${gateway}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt, max_tokens: output }) });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }),
    );
  }
}

/** The loaded cell with the largest share, as explain lists it. */
function dominant(e: Explain): Cell | undefined {
  const cells = e.models.find((m) => m.model === MODEL)?.load.cells ?? [];
  const top = [...cells].sort((a, b) => b.share - a.share)[0];
  return top === undefined ? undefined : { output: top.output, input: top.input };
}

/** Polls plan and explain until the plan is a solve's (optimal or time-limit) with `cell` dominant and split over. */
async function planFor(control: string, cell: Cell, sendMore: () => Promise<void>): Promise<{ plan: Plan; explain: Explain }> {
  const deadline = Date.now() + HANG_MS;
  for (;;) {
    const plan = await getJson<Plan>(`${control}/v1/optimizer/plan`);
    const explain = await getJson<Explain>(`${control}/v1/optimizer/explain`);
    const m = plan.models.find((x) => x.model === MODEL);
    const solved = m !== undefined && (m.status === 'optimal' || m.status === 'time-limit');
    const d = dominant(explain);
    if (solved && d?.output === cell.output && d.input === cell.input && m.split.some((c) => c.output === cell.output && c.input === cell.input)) return { plan, explain };
    if (Date.now() > deadline) throw new Error(`no plan for out ${cell.output} × in ${cell.input} within ${HANG_MS} ms: ${JSON.stringify(plan)} ${JSON.stringify(explain)}`);
    // The load decays: keep it up while the planner catches up.
    await sendMore();
    await new Promise((r) => setTimeout(r, 250));
  }
}

const tputAt = (gpu: string, cell: Cell): number => {
  const path = join(repoRoot, 'profiles', `${MODEL}-${gpu}.json`);
  const { profile } = parseProfile(readFileSync(path, 'utf8'), path);
  return profile.tputs[profile.grid.outputs.indexOf(cell.output) * profile.grid.inputs.length + profile.grid.inputs.indexOf(cell.input)] as number;
};

describe('brixlet up --engines 2 --engine-gpus l20,a10 (built, spawned): the GPU optimizer with no set-up', () => {
  it('plans from live load over the shipped profiles, and the plan, explain and log follow a shift in request shapes', async () => {
    const p = spawnBrixlet(['up', ...EPHEMERAL, '--engines', '2', '--engine-gpus', 'l20,a10', '--engine-time-scale', 'inf', '--optimizer.interval', '1s', '--json']);
    try {
      const urls = JSON.parse(await firstLine(p)) as Record<string, string>;
      const control = urls.control as string;
      const gateway = urls.gateway as string;
      expect(urls).toMatchObject({ optimizer: `${control}/v1/optimizer/plan`, optimizerExplain: `${control}/v1/optimizer/explain` });
      expect(p.stderr).toContain('GPU optimizer on with the profiles shipped for l20, a10');

      // One deployment per GPU type, running that type's engine.
      const first = await getJson<Plan>(urls.optimizer as string);
      expect(first.deployments.map((d) => [d.namespace, d.deployment, d.gpu, d.replicas])).toEqual([
        ['default', 'engine-a10', 'a10', 1],
        ['default', 'engine-l20', 'l20', 1],
      ]);

      // Short requests: 128-token prompts, 16 tokens out.
      const SHORT = { output: 16, input: 128 };
      await send(gateway, 24, SHORT.input, SHORT.output);
      const before = await planFor(control, SHORT, () => send(gateway, 4, SHORT.input, SHORT.output));
      const m1 = before.plan.models[0] as Plan['models'][0];
      expect(m1.rate).toBeGreaterThan(0);
      expect(Object.values(m1.types).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

      // The shapes shift: 2048-token prompts, 32 tokens out, three times as many.
      const LONG = { output: 32, input: 2048 };
      await send(gateway, 72, LONG.input, LONG.output);
      const after = await planFor(control, LONG, () => send(gateway, 12, LONG.input, LONG.output));
      const m2 = after.plan.models[0] as Plan['models'][0];
      const longSplit = m2.split.find((c) => c.output === LONG.output && c.input === LONG.input) as Plan['models'][0]['split'][0];
      // The new dominant shape is carried in full, only by GPU types whose profile can serve it, and the plan buys them.
      expect(Object.values(longSplit.shares).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      for (const [gpu, share] of Object.entries(longSplit.shares)) {
        if (share <= 0) continue;
        expect({ gpu, tput: tputAt(gpu, LONG) > 0, count: (m2.types[gpu] ?? 0) > 0 }).toEqual({ gpu, tput: true, count: true });
      }

      // Each new plan is logged once at info, the dominant shapes first: the shift shows in the log.
      const deadline = Date.now() + 15_000; // only a hang: log lines are written asynchronously
      const planLines = (): { cells: string[]; gpus: Record<string, number> }[] =>
        p.stderr
          .split('\n')
          .filter((l) => l.includes('"msg":"new GPU plan"'))
          .map((l) => JSON.parse(l) as { level: number; cells: string[]; gpus: Record<string, number> })
          .filter((l) => l.level === 30);
      while (!planLines().some((l) => l.cells[0]?.startsWith('out 32 × in 2048')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const lines = planLines();
      const short = lines.findIndex((l) => l.cells[0]?.startsWith('out 16 × in 128'));
      const long = lines.findIndex((l) => l.cells[0]?.startsWith('out 32 × in 2048'));
      expect(short, JSON.stringify(lines)).toBeGreaterThanOrEqual(0);
      expect(long).toBeGreaterThan(short);
    } finally {
      p.child.kill('SIGTERM');
    }
    const { code } = await p.exited;
    expect(code).toBe(0);
    expect(p.stderr).not.toMatch(/"level":(50|60)/);
  }, 180_000);
});
