import { describe, expect, it } from 'vitest';
import {
  BOUNDS, DNS_LABEL, ENV_NAME, FLEET_CEL_RULES, FLEET_DEFAULTS, LABEL_VALUE, MAX_FLEET_NAME, MAX_LENGTH, MAX_LWS_FLEET_NAME, NO_SPACE, PERCENT, QUANTITY, RAY_HEAD_PORTS, RAY_PORTS, RAY_VERSION, RENDERED_FLAGS,
} from '../../../src/coordinator/orchestrator/fleet-rules.js';
import { REVISION_LENGTH } from '../../../src/coordinator/orchestrator/revision.js';

const ruleAt = (at: string, mentions: string) => {
  const r = FLEET_CEL_RULES.find((x) => x.at === at && x.rule.includes(mentions));
  if (r === undefined) throw new Error(`no CEL rule at "${at}" mentioning ${mentions}`);
  return r;
};

describe('name limits', () => {
  it('keeps an lws fleet name short enough for LWS pod labels: <name>-<group up to 9999>-<revision hash> in 63', () => {
    expect(MAX_LWS_FLEET_NAME + '-9999-'.length + REVISION_LENGTH).toBeLessThanOrEqual(MAX_FLEET_NAME);
    expect(ruleAt('', 'lws').rule).toContain(`size() <= ${MAX_LWS_FLEET_NAME}`);
    expect(ruleAt('', 'lws').message).toContain(`at most ${MAX_LWS_FLEET_NAME} characters`);
  });

  it('takes only RFC 1035 labels as names', () => {
    for (const ok of ['a', 'llama', 'llama-3-70b', 'a1']) expect(DNS_LABEL.test(ok), ok).toBe(true);
    for (const bad of ['', '1llama', 'Llama', 'llama-', '-llama', 'llama.3', 'llama_3']) expect(DNS_LABEL.test(bad), bad).toBe(false);
  });

  it('takes label values as Kubernetes does (empty allowed, alphanumeric at both ends)', () => {
    for (const ok of ['', 'NVIDIA-H100-80GB-HBM3', 'a.b_c-d', 'x']) expect(LABEL_VALUE.test(ok), ok).toBe(true);
    for (const bad of ['-a', 'a-', 'a b', 'a/b', '_a']) expect(LABEL_VALUE.test(bad), bad).toBe(false);
    expect(MAX_LENGTH.gpuType).toBe(63);
  });
});

describe('value formats', () => {
  it('takes env names Kubernetes takes', () => {
    for (const ok of ['HF_TOKEN', '_x', 'a.b', 'VLLM-X', '.hidden']) expect(ENV_NAME.test(ok), ok).toBe(true);
    for (const bad of ['', '1ABC', 'A B', 'A=B']) expect(ENV_NAME.test(bad), bad).toBe(false);
  });

  it('takes resource quantities and refuses units Kubernetes does not know', () => {
    for (const ok of ['1', '16', '0.5', '.5', '500m', '200Gi', '1e3', '1E-2', '+2', '-1', '2k', '3Mi']) expect(QUANTITY.test(ok), ok).toBe(true);
    for (const bad of ['', '1GB', '1 Gi', 'Gi', '1.2.3', '1gi', '1e']) expect(QUANTITY.test(bad), bad).toBe(false);
  });

  it('takes Ray versions as x.y.z with an optional suffix, percents as digits and %', () => {
    for (const ok of ['2.40.0', '2.40.0rc1', '2.9.3-py311']) expect(RAY_VERSION.test(ok), ok).toBe(true);
    for (const bad of ['2.40', 'v2.40.0', 'latest', '2.40.0 rc1']) expect(RAY_VERSION.test(bad), bad).toBe(false);
    for (const ok of ['0%', '25%', '100%']) expect(PERCENT.test(ok), ok).toBe(true);
    for (const bad of ['25', '%', '-5%', '2.5%', '25 %']) expect(PERCENT.test(bad), bad).toBe(false);
    expect(NO_SPACE.test('--enforce-eager')).toBe(true);
    expect(NO_SPACE.test('--a b')).toBe(false);
  });
});

describe('flags brixlet renders', () => {
  it('catches every flag the render sets, in both spellings and with =value', () => {
    const flags = ['--model', '--served-model-name', '--served_model_name', '--tensor-parallel-size', '--tensor_parallel_size', '--pipeline-parallel-size', '--distributed-executor-backend', '--host', '--port', '--nnodes', '--node-rank', '--master-addr', '--headless'];
    for (const f of flags) {
      expect(RENDERED_FLAGS.test(f), f).toBe(true);
      expect(RENDERED_FLAGS.test(`${f}=x`), `${f}=x`).toBe(true);
    }
  });

  it('lets through flags that only start like a rendered one', () => {
    for (const ok of ['--max-model-len=8192', '--model-loader-extra-config={}', '--port-range', '--hostname', '--enforce-eager', 'model', '-tp']) expect(RENDERED_FLAGS.test(ok), ok).toBe(false);
  });

  it('is the same pattern the CEL rule evaluates in the API server', () => {
    const rule = ruleAt('spec.engineArgs', 'matches');
    expect(rule.rule).toContain(`a.matches('${RENDERED_FLAGS.source}')`);
  });
});

describe('Ray ports', () => {
  it('lists each default Ray head port once, and the CEL rule and its message name the same ones', () => {
    expect(new Set(RAY_PORTS).size).toBe(RAY_PORTS.length);
    expect(RAY_PORTS).toEqual(Object.values(RAY_HEAD_PORTS));
    const rule = ruleAt('spec', 'self.port in');
    expect(rule.rule).toContain(`[${RAY_PORTS.join(', ')}]`);
    expect(rule.message).toContain(`(${RAY_PORTS.join(', ')})`);
    expect(RAY_PORTS).not.toContain(FLEET_DEFAULTS.port);
  });
});

describe('defaults and bounds', () => {
  it('has every default inside its bound', () => {
    const inside = (v: number, [lo, hi]: readonly [number, number]) => v >= lo && v <= hi;
    expect(inside(FLEET_DEFAULTS.pipelineParallelSize, BOUNDS.pipelineParallelSize)).toBe(true);
    expect(inside(FLEET_DEFAULTS.replicas, BOUNDS.replicas)).toBe(true);
    expect(inside(FLEET_DEFAULTS.port, BOUNDS.port)).toBe(true);
    expect(inside(FLEET_DEFAULTS.startupSeconds, BOUNDS.startupSeconds)).toBe(true);
    expect(inside(FLEET_DEFAULTS.restartBudget.maxRestarts, BOUNDS.maxRestarts)).toBe(true);
    expect(inside(FLEET_DEFAULTS.restartBudget.windowSeconds, BOUNDS.windowSeconds)).toBe(true);
    expect(inside(FLEET_DEFAULTS.restartBudget.backoffSeconds, BOUNDS.backoffSeconds)).toBe(true);
    expect(inside(FLEET_DEFAULTS.restartBudget.maxBackoffSeconds, BOUNDS.maxBackoffSeconds)).toBe(true);
    expect(RAY_VERSION.test(FLEET_DEFAULTS.rayVersion)).toBe(true);
    expect(FLEET_DEFAULTS.rayVersion.length).toBeLessThanOrEqual(MAX_LENGTH.rayVersion);
  });

  it('has defaults the cross-field rules accept: a rollout that can take a step, a backoff cap above the backoff', () => {
    expect([FLEET_DEFAULTS.rollout.maxSurge, FLEET_DEFAULTS.rollout.maxUnavailable]).not.toEqual([0, 0]);
    expect(FLEET_DEFAULTS.restartBudget.maxBackoffSeconds).toBeGreaterThanOrEqual(FLEET_DEFAULTS.restartBudget.backoffSeconds);
    expect(FLEET_DEFAULTS.backend).toBe('ray');
  });

  it('has well-formed bounds', () => {
    for (const [field, [lo, hi]] of Object.entries(BOUNDS)) {
      expect(Number.isInteger(lo) && Number.isInteger(hi), field).toBe(true);
      expect(lo, field).toBeLessThanOrEqual(hi);
    }
  });
});

describe('the CEL rule list', () => {
  it('has one message per rule, each naming the field it is about', () => {
    const keys = FLEET_CEL_RULES.map((r) => `${r.at}|${r.rule}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of FLEET_CEL_RULES) {
      expect(r.message.length, r.rule).toBeGreaterThan(0);
      const field = r.at === '' ? 'metadata.name' : r.at === 'spec.env[]' ? 'env' : r.at;
      if (r.at !== 'spec') expect(r.message, r.rule).toContain(field);
    }
  });

  it('checks percent strings with the same pattern as PERCENT, and both rollout bounds alike', () => {
    const surge = ruleAt('spec.rollout.maxSurge', 'matches');
    const unavailable = ruleAt('spec.rollout.maxUnavailable', 'matches');
    expect(surge.rule).toBe(unavailable.rule);
    expect(surge.rule).toContain(`'${PERCENT.source}'`);
  });
});
