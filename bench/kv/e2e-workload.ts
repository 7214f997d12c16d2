/**
 * The two workloads of bench:kv-e2e, seeded and synthetic (no data set needed, so the benchmark runs
 * on any clone). Prompts are chat messages; the mock engine counts 4 characters per token and writes a
 * chat prompt as `<|role|>content\n` per message, so equal leading messages are an equal prefix.
 *
 * - text2sql: Bird-like. Each tenant (a database) has a schema prompt (CREATE TABLE statements with
 *   sample values) of its own length; a request is the tenant's schema as the system message and a
 *   short question, answered with a short SQL query. Tenants are drawn uniformly.
 * - multi-turn: chat sessions. A session's turn n sends the whole conversation so far (a shared system
 *   prompt, the earlier questions and the answers the engine gave) and a new question; a session has
 *   one turn in flight at a time. A finished session is replaced by a new one, so the number of live
 *   sessions stays constant.
 */
import { createRandom } from '../../src/mock-engine/random.js';

export const CHARS_PER_TOKEN = 4;

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export interface Turn {
  /** Tenant (text2sql) or session (multi-turn) the turn belongs to. */
  readonly owner: number;
  readonly messages: readonly ChatMessage[];
  readonly maxTokens: number;
}

export interface Workload {
  readonly name: WorkloadName;
  /** The next request, or undefined when every session has a turn in flight (multi-turn). */
  next(): Turn | undefined;
  /** The answer to `turn` arrived (multi-turn appends it to the session; text2sql ignores it). */
  done(turn: Turn, answer: string): void;
  /** Tokens of prompt every request of the workload could reuse if every cache held everything. */
  workingSetTokens(): number;
}

export type WorkloadName = 'text2sql' | 'multi-turn';

export type Range = readonly [number, number];

export interface Text2SqlOptions {
  readonly seed: number;
  readonly tenants: number;
  readonly schemaTokens: Range;
  readonly questionTokens: Range;
  readonly outputTokens: Range;
}

export interface MultiTurnOptions {
  readonly seed: number;
  /** Live sessions. */
  readonly sessions: number;
  readonly turns: Range;
  readonly systemTokens: number;
  readonly questionTokens: Range;
  readonly outputTokens: Range;
}

const WORDS = ['id', 'name', 'date', 'amount', 'status', 'code', 'city', 'score', 'type', 'rank', 'year', 'count', 'price', 'total', 'label', 'owner'];

type Rand = () => number;

const uniformInt = (rand: Rand, [lo, hi]: Range): number => lo + Math.floor(rand() * (hi - lo + 1));

/** Text of exactly `tokens × CHARS_PER_TOKEN` characters, from words the generator picks. */
export function filler(rand: Rand, tokens: number, head = ''): string {
  const chars = tokens * CHARS_PER_TOKEN;
  let s = head;
  while (s.length < chars) s += `${WORDS[Math.floor(rand() * WORDS.length)] as string}_${Math.floor(rand() * 1000)} `;
  return s.slice(0, chars);
}

function schemaText(rand: Rand, tenant: number, tokens: number): string {
  const chars = tokens * CHARS_PER_TOKEN;
  let s = `-- database db_${tenant}: answer with one SQLite query.\n`;
  for (let t = 0; s.length < chars; t++) {
    s += `CREATE TABLE db_${tenant}_t${t} (`;
    const cols = 4 + Math.floor(rand() * 8);
    for (let c = 0; c < cols; c++) s += `${WORDS[Math.floor(rand() * WORDS.length)] as string}_${c} ${rand() < 0.5 ? 'INTEGER' : 'TEXT'}, `;
    s += `PRIMARY KEY (id));\n/* 3 example rows: ${filler(rand, 12)} */\n`;
  }
  return s.slice(0, chars);
}

export function createText2SqlWorkload(o: Text2SqlOptions): Workload {
  const rand = createRandom(o.seed);
  // Schemas are drawn from their own generator, so a tenant's schema does not depend on the request order.
  const schemas = Array.from({ length: o.tenants }, (_, t) => {
    const r = createRandom(o.seed * 7919 + t + 1);
    return schemaText(r, t, uniformInt(r, o.schemaTokens));
  });
  return {
    name: 'text2sql',
    next() {
      const owner = Math.floor(rand() * o.tenants);
      const question = filler(rand, uniformInt(rand, o.questionTokens), `Question ${owner}: `);
      return { owner, messages: [{ role: 'system', content: schemas[owner] as string }, { role: 'user', content: question }], maxTokens: uniformInt(rand, o.outputTokens) };
    },
    done() {},
    workingSetTokens: () => schemas.reduce((n, s) => n + s.length / CHARS_PER_TOKEN, 0),
  };
}

interface Session {
  id: number;
  turnsLeft: number;
  messages: ChatMessage[];
  busy: boolean;
}

export function createMultiTurnWorkload(o: MultiTurnOptions): Workload {
  const rand = createRandom(o.seed);
  const system = filler(createRandom(o.seed + 1), o.systemTokens, 'You are a helpful assistant. ');
  let nextId = 0;
  const open = (): Session => ({ id: nextId++, turnsLeft: uniformInt(rand, o.turns), messages: [{ role: 'system', content: system }], busy: false });
  const sessions = Array.from({ length: o.sessions }, open);
  // Idle sessions in the order they became idle: the next turn goes to the one idle longest.
  const idle: Session[] = [...sessions];
  const byId = new Map(sessions.map((s) => [s.id, s]));
  return {
    name: 'multi-turn',
    next() {
      const s = idle.shift();
      if (s === undefined) return undefined;
      s.busy = true;
      s.messages.push({ role: 'user', content: filler(rand, uniformInt(rand, o.questionTokens), `Turn ${s.messages.length >> 1} of chat ${s.id}: `) });
      return { owner: s.id, messages: [...s.messages], maxTokens: uniformInt(rand, o.outputTokens) };
    },
    done(turn, answer) {
      const s = byId.get(turn.owner);
      if (s === undefined || !s.busy) return;
      s.busy = false;
      s.turnsLeft--;
      byId.delete(s.id);
      const after = s.turnsLeft > 0 ? s : open();
      if (after === s) s.messages.push({ role: 'assistant', content: answer });
      byId.set(after.id, after);
      idle.push(after);
    },
    workingSetTokens: () => [...byId.values()].reduce((n, s) => n + s.messages.reduce((m, x) => m + x.content.length, 0) / CHARS_PER_TOKEN, 0),
  };
}
