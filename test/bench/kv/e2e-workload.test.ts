import { afterAll, describe, expect, it } from 'vitest';
import { createGatewayPool, runPoint, streamChat } from '../../../bench/kv/e2e-client.js';
import { CHARS_PER_TOKEN, createMultiTurnWorkload, createText2SqlWorkload, type Turn } from '../../../bench/kv/e2e-workload.js';
import { startMockEngine } from '../../../src/mock-engine/index.js';

const text2sql = () => createText2SqlWorkload({ seed: 3, tenants: 5, schemaTokens: [100, 300], questionTokens: [8, 16], outputTokens: [4, 12] });
const chats = () => createMultiTurnWorkload({ seed: 3, sessions: 2, turns: [2, 2], systemTokens: 32, questionTokens: [8, 16], outputTokens: [4, 12] });

describe('bench:kv-e2e workloads', () => {
  it('text2sql: seeded; each tenant always sends its own schema first, then a short question', () => {
    const a = Array.from({ length: 40 }, text2sql().next);
    const b = Array.from({ length: 40 }, text2sql().next);
    expect(a).toEqual(b);
    const schemas = new Map<number, string>();
    for (const t of a as Turn[]) {
      const [system, user] = t.messages;
      expect(system?.role).toBe('system');
      expect(user?.role).toBe('user');
      expect(schemas.get(t.owner) ?? system?.content).toBe(system?.content);
      schemas.set(t.owner, system?.content as string);
      expect(system!.content.length / CHARS_PER_TOKEN).toBeGreaterThanOrEqual(100);
      expect(system!.content.length / CHARS_PER_TOKEN).toBeLessThanOrEqual(300);
      expect(user!.content.length / CHARS_PER_TOKEN).toBeLessThanOrEqual(16);
      expect(t.maxTokens).toBeGreaterThanOrEqual(4);
      expect(t.maxTokens).toBeLessThanOrEqual(12);
    }
    expect(schemas.size).toBe(5);
    expect(new Set(schemas.values()).size).toBe(5);
  });

  it('multi-turn: a turn resends the conversation with the answer; one turn in flight per session; finished chats are replaced', () => {
    const w = chats();
    const t1 = w.next() as Turn;
    const t2 = w.next() as Turn;
    expect(t1.owner).not.toBe(t2.owner);
    expect(w.next()).toBeUndefined(); // both sessions wait for an answer
    w.done(t1, 'answer one');
    const t3 = w.next() as Turn;
    expect(t3.owner).toBe(t1.owner);
    expect(t3.messages.slice(0, 2)).toEqual(t1.messages);
    expect(t3.messages[2]).toEqual({ role: 'assistant', content: 'answer one' });
    expect(t3.messages[3]?.role).toBe('user');
    w.done(t3, 'answer two'); // its second and last turn: a new chat takes its place
    const t4 = w.next() as Turn;
    expect(t4.owner).not.toBe(t1.owner);
    expect(t4.owner).not.toBe(t2.owner);
    expect(t4.messages).toHaveLength(2);
    expect(t4.messages[0]).toEqual(t1.messages[0]); // the shared system prompt
  });
});

describe('bench:kv-e2e client', () => {
  const engine = startMockEngine({ latency: false, seed: 1 });
  const pool = engine.then((e) => createGatewayPool(e.url));
  afterAll(async () => {
    await (await pool).close();
    await (await engine).close();
  });

  it('times a streamed chat answer token by token and returns its text', async () => {
    const turn = text2sql().next() as Turn;
    const { sample, text } = await streamChat(await pool, turn, 'mock-llama-3-8b', 1);
    expect(sample.ok).toBe(true);
    expect(sample.tokens).toBe(turn.maxTokens);
    expect(sample.itlMs).toHaveLength(turn.maxTokens - 1);
    expect(text.length).toBeGreaterThan(0);
  });

  it('an open-loop point sends every arrival and waits for every answer, feeding answers to the chats', async () => {
    const r = await runPoint(await pool, chats(), { rate: 200, durationMs: 100, timeScale: 1, seed: 5, model: 'mock-llama-3-8b' });
    expect(r.samples.length).toBeGreaterThan(0);
    expect(r.samples.every((s) => s.ok)).toBe(true);
    expect(r.spanS).toBeGreaterThan(0);
  });

  it('a request the server refuses is a failed sample, not a thrown error', async () => {
    const { sample } = await streamChat(await pool, text2sql().next() as Turn, 'no-such-model', 1);
    expect(sample.ok).toBe(false);
  });
});
