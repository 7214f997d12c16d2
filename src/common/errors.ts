/**
 * The one catalog of brixlet errors. Every error the product raises on purpose has a stable
 * `BRX_ERR_<AREA>_<COND>` code, a message template, an HTTP status and a hint on how to solve it.
 * Callers switch on `.code`; the error table in docs/errors.md is checked against this catalog by a test.
 */

interface CatalogEntry {
  /** Message template; `{name}` placeholders are filled from the params. */
  readonly message: string;
  readonly statusCode: number;
  /** Process exit code when the error ends a CLI command. */
  readonly exitCode: number;
  /** What a user does about it: rendered in docs/errors.md and in CLI output. */
  readonly fix: string;
}

function entry(message: string, statusCode: number, fix: string, exitCode = 1): CatalogEntry {
  return { message, statusCode, exitCode, fix };
}

export const codes = {
  BRX_ERR_CFG_INVALID: entry(
    'invalid configuration ({count} problem(s))',
    500,
    'Fix every listed key; `brixlet <command> --help` shows each flag, its env twin and default.',
    2,
  ),
  BRX_ERR_CFG_FILE: entry(
    'cannot read config file {path}: {reason}',
    500,
    'Check the path given to --config (or BRIXLET_CONFIG) and that the file is valid YAML.',
    2,
  ),
  BRX_ERR_CLI_USAGE: entry('{reason}', 400, 'Run `brixlet --help` or `brixlet <command> --help`.', 2),
  BRX_ERR_HTTP_LISTEN: entry(
    'cannot listen on {host}:{port} for {server}: {reason}',
    500,
    'Free the port or pick another with the flag named in the message (0 picks a free port).',
  ),
  BRX_ERR_HTTP_NOT_FOUND: entry(
    'no route {method} {url}',
    404,
    'See /openapi.json on the same listener for the routes it serves.',
  ),
  BRX_ERR_HTTP_BODY_TOO_LARGE: entry(
    'request body exceeds the limit of {limit} bytes',
    413,
    'Send a smaller body, or raise --agent.body-limit, --gateway.body-limit or --control.body-limit.',
  ),
  BRX_ERR_HTTP_BAD_REQUEST: entry(
    'invalid request: {reason}',
    400,
    'Correct the request to match the schema published at /openapi.json.',
  ),
  BRX_ERR_HTTP_MEDIA_TYPE: entry(
    'unsupported content type {contentType}',
    415,
    'Send the body as application/json.',
  ),
  BRX_ERR_HTTP_NOT_READY: entry(
    '{server} is not ready: {reason}',
    503,
    'Wait for readiness (GET /readyz) or retry on another replica.',
  ),
  BRX_ERR_HTTP_METHOD_NOT_ALLOWED: entry(
    '{method} is not allowed on {path}; allowed: {allow}',
    405,
    'Send the method named in the Allow header (the completion routes take POST only).',
  ),
  BRX_ERR_HTTP_REQUEST_TIMEOUT: entry(
    'request not received within {timeoutMs} ms',
    408,
    'Send the whole request body promptly, or raise --gateway.body-timeout for very slow uplinks.',
  ),
  BRX_ERR_HTTP_HEADERS_TOO_LARGE: entry(
    'request headers are too large',
    431,
    'Send fewer or shorter headers (Node.js accepts 16 KiB of headers by default).',
  ),
  BRX_ERR_HTTP_INTERNAL: entry(
    'internal error handling {method} {url}',
    500,
    'A bug: report it with the log line carrying the same request id.',
  ),
  BRX_ERR_LIFECYCLE_DRAIN_TIMEOUT: entry(
    'shutdown did not finish within {timeoutMs} ms; still pending: {pending}',
    500,
    'Raise --shutdown.timeout, or find what holds the named resources open.',
  ),
  BRX_ERR_ACCEL_SCENARIO: entry(
    'invalid accelerator scenario {source}: {reason}',
    400,
    'Fix the scenario file; mocks/README.md documents every key (and `brixlet up --accel sim:<name>` takes names from mocks/scenarios/).',
    2,
  ),
  BRX_ERR_ACCEL_DEVICE_NOT_FOUND: entry('no accelerator with index {index}', 404, 'List devices with GET /v1/accelerators.'),
  BRX_ERR_ACCEL_UNAVAILABLE: entry(
    'accelerator telemetry is not available: {reason}',
    503,
    'Start the agent with --accel (auto, nvml, dcmi or sim:<scenario>) and check the backend status in /v1/accelerators.',
  ),
  BRX_ERR_ACCEL_LIBRARY: entry(
    'cannot use the {vendor} library: {reason}',
    500,
    'Point --nvml.library / --dcmi.library (BRIXLET_NVML_LIBRARY, BRIXLET_DCMI_LIBRARY) at the driver library, or use --accel auto.',
    2,
  ),
  BRX_ERR_DIAGNOSE_AGENT: entry(
    'cannot get diagnose results from the agent at {url}: {reason}',
    502,
    'Check the --agent URL and that the agent runs with an accelerator backend (GET /v1/accelerators).',
    2,
  ),
  BRX_ERR_FAULT_RULE_INVALID: entry(
    'invalid fault rule: {reason}',
    400,
    'Fix the rule as the message says; docs/fault-injection.md lists every rule key, preset and effect.',
    2,
  ),
  BRX_ERR_FAULT_NOT_FOUND: entry('no fault {kind} {id}', 404, 'List rules with GET /v1/faults and presets with GET /v1/faults/presets.'),
  BRX_ERR_FAULT_CONFLICT: entry(
    'a fault rule with id {id} already exists',
    409,
    'Pick another id, leave id out to get one assigned, or DELETE /v1/faults/:id first (presets and imports replace their own rules).',
  ),
  BRX_ERR_FAULT_LIMIT: entry(
    'fault rule limit reached: {count} active, at most {limit}',
    409,
    'Delete rules (DELETE /v1/faults/:id), POST /v1/faults/reset, or wait for their TTL to expire.',
  ),
  BRX_ERR_FAULT_TOML: entry(
    'invalid AIBrix mock config at line {line}, column {column}: {reason}',
    400,
    'Fix the TOML (gpu_mock_conf.toml, versions 0.1.0 and 0.2.0); the message points at the offending place.',
    2,
  ),
  BRX_ERR_FAULT_RULE_FILE: entry(
    'cannot write the fault rule file {path}: {reason}',
    500,
    'Check that the directory of --faults.rule-file exists and is writable by the agent (default /run/brixlet/faults.json).',
  ),
  BRX_ERR_FAULT_UNSAFE_PATH: entry(
    'refusing to write the fault rule file in {path}: {problem}',
    500,
    'The directory of --faults.rule-file (default /run/brixlet) must be a real directory (no symlink) owned by the agent\'s user or root and not writable by group or others; fix it as the message says or choose another --faults.rule-file.',
  ),
  BRX_ERR_FAULT_DISABLED: entry(
    'fault injection is disabled on this agent',
    403,
    'Start the agent with --faults.enabled and --faults.token-file FILE.',
  ),
  BRX_ERR_FAULT_UNAUTHORIZED: entry(
    'missing or wrong bearer token for the fault API',
    401,
    'Send Authorization: Bearer <the token in the agent\'s --faults.token-file> (brixlet fault --token-file FILE).',
  ),
  BRX_ERR_FAULT_TOKEN: entry(
    'cannot use the fault token file {path}: {reason}',
    500,
    'Point --faults.token-file at a readable file holding a token of at least 16 characters.',
    2,
  ),
  BRX_ERR_FAULT_AGENT: entry(
    'cannot reach the fault API at {url}: {reason}',
    502,
    'Check the --agent URL and that the agent runs with --faults.enabled.',
    2,
  ),
  BRX_ERR_CHAOS_INVALID: entry(
    'invalid {kind} {name}: {reason}',
    400,
    'Fix the spec to match the Chaos Mesh CRD; `brixlet chaos presets` lists valid examples.',
    2,
  ),
  BRX_ERR_CHAOS_TIMEOUT: entry(
    'timed out after {ms} ms waiting for {kind} {name}: {state}',
    504,
    'Check the Chaos Mesh controller (kubectl -n chaos-mesh get pods) and the object status (brixlet chaos status).',
  ),
  BRX_ERR_KUBE_CONFIG: entry(
    'cannot load the Kubernetes client configuration: {detail}',
    500,
    'Point brixlet at a kubeconfig: --kube.kubeconfig FILE, or KUBECONFIG=FILE, or ~/.kube/config; in a pod check the service account mount and KUBERNETES_SERVICE_HOST/PORT.',
    2,
  ),
  BRX_ERR_KUBE_UNAUTHORIZED: entry('{detail}', 502, 'Check the token and that RBAC grants the verb on the resource (see the chart\'s Role).'),
  BRX_ERR_KUBE_NOT_FOUND: entry('{detail}', 404, 'Check the name and namespace; for custom resources check that the CRD is installed.'),
  BRX_ERR_KUBE_CONFLICT: entry('{detail}', 409, 'Re-read the object and retry (stale resourceVersion), or pick another name.'),
  BRX_ERR_KUBE_INVALID: entry('{detail}', 422, 'Fix the object; the message names the field the API server rejected.'),
  BRX_ERR_KUBE_API: entry('{detail}', 502, 'Check that the API server is reachable and healthy; informers retry on their own.'),
  BRX_ERR_FLEET_INVALID: entry(
    'invalid ModelFleet {name}: {reason}',
    400,
    'Fix every listed field (the path names it); docs/orchestration.md has the ModelFleet field table and examples/fleets/ has valid fleets; `brixlet fleet render -f FILE` checks a fleet offline.',
    2,
  ),
  BRX_ERR_RAY_UNREACHABLE: entry(
    'cannot reach the Ray dashboard at {url}: {reason}',
    502,
    'Check that the Ray head pod runs and its dashboard listens on port 8265 (ray start --head --dashboard-host=0.0.0.0, image with ray[default]); the orchestrator probes again on its next pass.',
  ),
  BRX_ERR_RAY_BAD_RESPONSE: entry(
    'unexpected answer from the Ray dashboard at {url}: {reason}',
    502,
    'Check the Ray version of the image (the dashboard APIs need ray[default] 2.x) and that the URL points at the head\'s dashboard, not at another service.',
  ),
  BRX_ERR_RAY_JOB: entry(
    'Ray job request {method} {url} failed: {reason}',
    502,
    'Read the reason (the dashboard\'s own error); GET /api/jobs/ on the dashboard lists the jobs it knows.',
  ),
  BRX_ERR_RAY_JOB_EXISTS: entry(
    'a Ray job with submission_id {submissionId} already exists at {url}',
    409,
    'Submit with a new submission_id, or follow the existing job (GET /api/jobs/{submissionId}).',
  ),
  BRX_ERR_CONTROL_INSECURE: entry(
    'the control API binds {host} but has no credentials: anyone who reaches it could write node reports; give --control.token-file FILE or --control.auth kubernetes, bind --control.host 127.0.0.1, or pass --control.insecure to run it open',
    500,
    'Create a cluster secret (brixlet token secret --out FILE, mode 0600) and pass --control.token-file FILE; or --control.auth kubernetes; --control.insecure starts an open control API on purpose (logged as a warning).',
    2,
  ),
  BRX_ERR_REGISTRY_INVALID_NODE: entry(
    'invalid node report: {reason}',
    400,
    'Agents and coordinator must run the same brixlet version; check the agent log.',
  ),
  BRX_ERR_REGISTRY_UNAUTHORIZED: entry(
    'control API writes need a valid bearer token for this node (its node token, its ServiceAccount token or the cluster secret)',
    401,
    'Give the agent its node token (brixlet token node NAME --secret-file SECRET --out FILE) with --agent.coordinator-token-file FILE, or use --agent.coordinator-auth kubernetes against a coordinator with --control.auth kubernetes.',
  ),
  BRX_ERR_REGISTRY_FORBIDDEN: entry(
    '{reason}',
    403,
    'A node token or ServiceAccount token writes only its own node\'s report; DELETE and other nodes\' reports need the cluster secret (--control.token-file). In kubernetes mode the ServiceAccount must be listed in --control.service-accounts and its pod must run on the node it reports.',
  ),
  BRX_ERR_REGISTRY_REPLAY: entry(
    'report seq {seq} of agent boot {bootId} is not newer than seq {stored}, already taken',
    409,
    'An agent process numbers its reports upward under one bootId and a restarted agent sends a new bootId; a replayed or reordered report is refused. Check for a second agent reporting the same node name.',
  ),
  BRX_ERR_REGISTRY_AUTH_UNAVAILABLE: entry(
    'cannot check the report\'s credentials: {reason}',
    503,
    'The coordinator could not ask the Kubernetes API (TokenReview, pod get); check its RBAC (create tokenreviews, get pods) and the API server. The agent retries.',
  ),
  BRX_ERR_REGISTRY_TOKEN: entry(
    'cannot use the token file {path}: {reason}',
    500,
    'Point the flag named in the message at a file of one line (the cluster secret or the node token), mode 0600, owned by the process\'s user or root.',
    2,
  ),
  BRX_ERR_REGISTRY_NODE_NOT_FOUND: entry('no node named {name} has reported', 404, 'List known nodes with GET /v1/nodes; check the agent\'s --coordinator URL and its log.'),
  BRX_ERR_REGISTRY_REPORT: entry(
    'cannot report to the coordinator at {url}: {reason}',
    502,
    'Check --coordinator (the control port, default 8081) and the token; the agent keeps working and retries.',
  ),
  BRX_ERR_ENGINE_CONFIG: entry(
    'invalid engine setting: {reason}',
    500,
    'Fix --gateway.engines (URL[#gpu-type], comma-separated) or --gateway.engine-selector; `brixlet coordinator --help` lists them.',
    2,
  ),
  BRX_ERR_GATEWAY_BAD_REQUEST: entry('{reason}', 400, 'Send an OpenAI-compatible body: a JSON object with model and messages (chat) or prompt (completions).'),
  BRX_ERR_GATEWAY_MODEL_NOT_FOUND: entry(
    'the model {model} does not exist; {detail}',
    404,
    'Use a model GET /v1/models lists; with no engines, add them (--gateway.engines, --gateway.engine-selector, or brixlet up --engines N).',
  ),
  BRX_ERR_GATEWAY_POLICY: entry(
    'unknown routing-strategy {policy}',
    400,
    'Use one of: cost, prefix-cache, kv-aware, least-request, least-kv-cache, least-busy-time, least-latency, throughput, random.',
  ),
  BRX_ERR_GATEWAY_NO_ENGINE: entry(
    'no healthy engine serves {model}: {reason}',
    503,
    'Check GET /v1/engines on the control port: engines failing /health, stale nodes or unhealthy GPUs are left out of routing.',
  ),
  BRX_ERR_GATEWAY_OVERLOADED: entry(
    'the gateway is at its limit of {limit} requests in flight',
    429,
    'Retry after a short delay, or raise --gateway.max-in-flight.',
  ),
  BRX_ERR_GATEWAY_BUFFER_FULL: entry(
    'the gateway is already buffering {buffered} bytes of request bodies (limit {limit})',
    503,
    'Retry after the Retry-After delay, or raise --gateway.max-buffered-body.',
  ),
  BRX_ERR_GATEWAY_SHUTTING_DOWN: entry(
    'the gateway is shutting down and ended the request after {timeoutMs} ms of draining',
    503,
    'Send the request again: another gateway replica, or this one once restarted, takes it.',
  ),
  BRX_ERR_GATEWAY_UPSTREAM: entry(
    'engine {engine} failed: {reason}',
    502,
    'The engine failed before answering and no other engine could take the request; check the engine\'s log and GET /v1/engines.',
  ),
  BRX_ERR_GATEWAY_TIMEOUT: entry(
    'engine {engine} did not answer within {timeoutMs} ms',
    504,
    'The engine is overloaded or stuck; raise --gateway.first-byte-timeout for very long prompts, or add engines.',
  ),
  BRX_ERR_GATEWAY_RESPONSE_TOO_LARGE: entry(
    'engine {engine} sent a response over {limit} bytes',
    502,
    'Raise --gateway.response-limit, or stream the response (stream: true is never size-limited).',
  ),
  BRX_ERR_MOCK_ENGINE: entry(
    'mock engine: {reason}',
    500,
    'Check the brixlet mock-engine flags (--gpu names a profile from `brixlet mock-engine --help`).',
    2,
  ),
  BRX_ERR_KV_INIT: entry(
    'cannot create the KV cache shard at {path}: {reason}',
    500,
    'Check that --kv.dir is on a tmpfs with room for --kv.capacity (df /dev/shm) and that the --kv.socket directory is writable; or turn the shard off with --no-kv.enabled.',
  ),
  BRX_ERR_KV_IN_USE: entry(
    '{path} is used by another brixlet agent (pid {pid})',
    409,
    'Stop the other agent, or give this one its own --kv.dir and --kv.socket.',
  ),
  BRX_ERR_KV_UNSAFE_PATH: entry(
    'refusing to use {path} for the KV cache shard: {problem}',
    500,
    'The agent creates and removes files only in real directories (no symlink) owned by its user or root and not writable by group or others, and removes only slab files and sockets it owns; fix the path as the message says or choose another --kv.dir / --kv.socket.',
  ),
  BRX_ERR_KV_CONFIG: entry(
    'invalid KV cache setting: {reason}',
    500,
    'Fix the --kv.* setting named in the message; `brixlet agent --help` lists them.',
    2,
  ),
  BRX_ERR_KV_CONNECT: entry(
    'cannot reach the KV shard at {path}: {reason}',
    503,
    'Check that the agent runs with the KV cache enabled and that --socket (or --kv.socket) names its socket.',
  ),
  BRX_ERR_KV_PROTOCOL: entry(
    'KV shard refused {op}: {status} ({message})',
    502,
    'See docs/kv-protocol.md for the status code; BAD_* codes mean the client sent a malformed request.',
  ),
  BRX_ERR_KV_DISABLED: entry(
    'the KV cache shard is not enabled on this agent',
    404,
    'Start the agent with --kv.enabled (the default) to serve /v1/kvcache.',
  ),
  BRX_ERR_KV_API_TOKEN: entry(
    'cannot use the agent API token file {path}: {reason}',
    500,
    'Point --agent.api-token-file at a file holding a token of at least 16 characters, mode 0600, owned by the agent\'s user or root; or leave it empty (then GET /v1/kvcache shows no namespace names).',
    2,
  ),
  BRX_ERR_ZMTP_ENDPOINT: entry(
    'invalid ZMQ endpoint {endpoint}: {reason}',
    500,
    'Give tcp://HOST:PORT (tcp://*:PORT binds every interface) or ipc:///path, as vLLM\'s --kv-events-config does.',
    2,
  ),
  BRX_ERR_ZMTP_PROTOCOL: entry(
    'ZMTP peer dropped: {reason}',
    502,
    'The peer is not a ZeroMQ 4.x socket of a matching type (PUB/SUB, ROUTER/DEALER) with the NULL mechanism, or it broke a size limit; see docs/kv-events.md.',
  ),
  BRX_ERR_KV_EVENTS_DECODE: entry(
    'cannot decode a KV event batch: {reason}',
    502,
    'The publisher sent a payload that is not a vLLM KV EventBatch (msgpack); check the engine version and docs/kv-events.md. The batch is skipped and counted.',
  ),
  BRX_ERR_OPTIMIZER_PROFILE: entry(
    'invalid GPU profile {source}: {reason}',
    400,
    'Send an AIBrix profile JSON: gpu, cost (finite, >= 0), indexes [[outputs],[inputs]] ascending and positive, tputs [outputs][inputs] (see docs/optimizer.md).',
    2,
  ),
  BRX_ERR_OPTIMIZER_GRID_MISMATCH: entry(
    'profiles {first} and {second} are on different grids: {reason}',
    400,
    'Make every profile of one model on the same indexes (output and input ticks), e.g. by re-running the profiler with the same sweep.',
    2,
  ),
  BRX_ERR_OPTIMIZER_WORKLOAD: entry(
    'invalid workload {source}: {reason}',
    400,
    'Send {"rate": RPS, "cells": [{"output": N, "input": N, "share": S}, ...]} with rate >= 0 and shares >= 0 that are not all 0.',
    2,
  ),
  BRX_ERR_OPTIMIZER_PROBLEM: entry(
    'invalid planning problem: {reason}',
    400,
    'Fix the named setting: counts are whole numbers >= 0, min <= max, headroom in (0, 1], every GPU type has a profile.',
    2,
  ),
  BRX_ERR_OPTIMIZER_ABORTED: entry(
    'the solve was aborted{reason}',
    499,
    'Nothing to fix: a newer solve (new profiles, availability or load) replaced it, or the caller gave up.',
  ),
  BRX_ERR_OPTIMIZER_SOLVER: entry(
    'the solver failed: {reason}',
    500,
    'Report it with the problem (`brixlet optimize --json` input files); the previous plan stays in force.',
  ),
  BRX_ERR_OPTIMIZER_PROFILER_ENDPOINT: entry(
    'cannot profile {endpoint}: {reason}',
    502,
    'Start the engine first and give its base URL: --endpoint http://host:port (an OpenAI-compatible server: vLLM, `brixlet mock-engine`, the brixlet gateway).',
  ),
  BRX_ERR_OPTIMIZER_PROFILER_MODEL: entry(
    'model {model} is not served by {endpoint} (it serves {served})',
    404,
    'Pass one of the served names with --model (GET /v1/models lists them).',
    2,
  ),
  BRX_ERR_OPTIMIZER_CONFIG: entry(
    'invalid optimizer setting: {reason}',
    400,
    'Fix the named --optimizer.* setting (`brixlet coordinator --help` shows each one and its format).',
    2,
  ),
  BRX_ERR_OPTIMIZER_UNKNOWN_DEPLOYMENT: entry(
    'the GPU optimizer plans no deployment {namespace}/{deployment}',
    404,
    'GET /v1/optimizer/plan lists the deployments planned: one per profile (in --kube.namespace) or those in --optimizer.deployments.',
  ),
  BRX_ERR_OPTIMIZER_NO_PLAN: entry(
    'no replica count for {namespace}/{deployment} yet: {reason}',
    503,
    'Wait for the first plan (GET /v1/optimizer/explain says what is missing); an autoscaler keeps the current replicas meanwhile.',
  ),
  BRX_ERR_OPTIMIZER_UNKNOWN_PROFILE: entry(
    'no profile {gpu} for model {model}',
    404,
    'GET /v1/optimizer/profiles lists the profiles per model.',
  ),
  BRX_ERR_FLEET_ROLLOUT_BOUND: entry(
    'invalid rollout bound {field}: {value} ({reason})',
    400,
    'Give spec.rollout.maxSurge and maxUnavailable as whole numbers >= 0 or percent strings like "25%".',
    2,
  ),
  BRX_ERR_FLEET_COORDINATOR: entry(
    'cannot read the fleets from the coordinator at {url}: {reason}',
    502,
    'Point --control at the coordinator control port (default http://127.0.0.1:8081; in a cluster: kubectl port-forward svc/brixlet-coordinator 8081), or read the fleets from the API server with --kubeconfig FILE.',
  ),
  BRX_ERR_FLEET_ORCHESTRATOR_OFF: entry(
    'the coordinator at {url} does not run the orchestrator',
    404,
    'Start the coordinator with --orchestrator.enabled (and Kubernetes API access: --kube.kubeconfig or its service account); or read the fleets from the API server with --kubeconfig FILE.',
  ),
  BRX_ERR_FLEET_NOT_FOUND: entry(
    'no ModelFleet {name} in {where} (fleets there: {known})',
    404,
    'Check the name and --namespace; `brixlet fleet status` without a name lists every fleet, `kubectl get modelfleets -A` those in the cluster.',
  ),
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof codes;

export type ErrorParams = Record<string, string | number | boolean | undefined>;

export interface BrixletErrorOptions {
  readonly cause?: unknown;
  /** Structured detail for clients (for example every config problem). */
  readonly details?: readonly unknown[];
}

export class BrixletError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly exitCode: number;
  readonly params: ErrorParams;
  readonly details: readonly unknown[];

  constructor(code: ErrorCode, params: ErrorParams = {}, options: BrixletErrorOptions = {}) {
    const spec = codes[code];
    super(formatMessage(spec.message, params), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrixletError';
    this.code = code;
    this.statusCode = spec.statusCode;
    this.exitCode = spec.exitCode;
    this.params = params;
    this.details = options.details ?? [];
  }

  get fix(): string {
    return codes[this.code].fix;
  }
}

/** Fills `{name}` placeholders; a missing param stays visible rather than printing "undefined". */
export function formatMessage(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const value = params[key];
    return value === undefined ? whole : String(value);
  });
}

export function isBrixletError(err: unknown, code?: ErrorCode): err is BrixletError {
  if (typeof err !== 'object' || err === null) return false;
  const c = (err as { code?: unknown }).code;
  if (typeof c !== 'string' || !Object.hasOwn(codes, c)) return false;
  return code === undefined || c === code;
}

export function errorCodes(): ErrorCode[] {
  return Object.keys(codes) as ErrorCode[];
}
