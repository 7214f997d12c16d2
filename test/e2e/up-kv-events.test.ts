// The built `brixlet up --engines 2 --gateway.kv-events` (the engine tokenizer by default): the mock engines
// publish their KV events, the gateway indexes the blocks an engine reports and routes the prompt's
// repeat on them, saying so in x-brixlet-policy and in brixlet_router_kv_events_* on the control port.
import { describe, expect, it } from 'vitest';
import { firstLine, spawnBrixlet } from './cli-process.js';

const EPHEMERAL = ['--agent.port', '0', '--gateway.port', '0', '--control.port', '0', '--no-kv.enabled'];

describe('brixlet up --engines 2 --gateway.kv-events (built, spawned)', () => {
  it("routes a repeated prompt on the blocks its engine's KV events report", async () => {
    const p = spawnBrixlet(['up', ...EPHEMERAL, '--engines', '2', '--engine-time-scale', '100', '--gateway.kv-events', '--log.level', 'debug', '--json']);
    try {
      const urls = JSON.parse(await firstLine(p)) as Record<string, string>;
      const prompt = 'Given the schema of the orders and customers tables, write the SQL for the question. '.repeat(30);
      const send = () =>
        fetch(`${urls.gateway}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock-llama-3-8b', prompt, max_tokens: 4 }) });
      const first = await send();
      expect(first.status).toBe(200);
      await first.text();
      const target = first.headers.get('x-brixlet-target') as string;
      expect(target).toMatch(/^engine-[01]$/);

      const series = `brixlet_router_kv_events_engine_blocks{engine="${target}"} `;
      const deadline = Date.now() + 15_000; // only a hang
      let blocks = 0;
      while (blocks === 0) {
        if (Date.now() > deadline) throw new Error(`no KV events from ${target}`);
        const text = await (await fetch(`${urls.control}/metrics`)).text();
        blocks = Number(text.split('\n').find((l) => l.startsWith(series))?.slice(series.length) ?? 0);
        if (blocks === 0) await new Promise((r) => setTimeout(r, 50));
      }

      const again = await send();
      expect(again.status).toBe(200);
      await again.text();
      expect(again.headers.get('x-brixlet-target')).toBe(target);
      expect(again.headers.get('x-brixlet-policy')).toBe('cost; prefix=kv-events');
      const text = await (await fetch(`${urls.control}/metrics`)).text();
      expect(text).toMatch(new RegExp(`brixlet_router_kv_events_live\\{engine="${target}"\\} 1`));
      // The decision matched the blocks the events reported (the engine's token ids, hashed as the gateway does).
      const until = Date.now() + 15_000; // only a hang: the log line is written asynchronously
      const routed = () => p.stderr.split('\n').filter((l) => l.includes('"msg":"routed"'));
      while (routed().length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      const second = JSON.parse(routed()[1] ?? '{}') as { prefixSource?: string; matchedBlocks?: number; engine?: string };
      expect(second).toMatchObject({ prefixSource: 'kv-events', engine: target });
      expect(second.matchedBlocks).toBeGreaterThan(0);
      // No --gateway.tokenizer given: kv-events made it engine, said once at info.
      expect(p.stderr.split('\n').filter((l) => l.includes('prompts are tokenized by the engines'))).toHaveLength(1);
    } finally {
      p.child.kill('SIGTERM');
    }
    const { code } = await p.exited;
    expect(code).toBe(0);
    expect(p.stderr).not.toMatch(/"level":(50|60)/);
  });
});
