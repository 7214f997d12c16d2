/**
 * The one brixlet configuration schema. Every key has a default, a `--flag` and a `BRIXLET_*` env
 * twin derived from its path (see fields.ts). Later subsystems add their sections here.
 */
import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { Bool, Duration, Enum, Int, Port, Section, Size, Str } from './fields.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

/** Routing policies a request may name in its routing-strategy header (AIBrix names plus kv-aware and cost). */
export const ROUTING_POLICIES = [
  'cost',
  'prefix-cache',
  'kv-aware',
  'least-request',
  'least-kv-cache',
  'least-busy-time',
  'least-latency',
  'throughput',
  'random',
] as const;
export type RoutingPolicyName = (typeof ROUTING_POLICIES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const ConfigSchema = Type.Object(
  {
    log: Section(
      {
        level: Enum(LOG_LEVELS, 'info', { description: 'Lowest level written to stderr.' }),
        format: Enum(['auto', 'json', 'pretty'] as const, 'auto', {
          description: 'Log line format; auto = pretty on a terminal, JSON lines otherwise.',
        }),
      },
      'Logging (pino, one child logger per component, always on stderr).',
    ),
    agent: Section(
      {
        host: Str('0.0.0.0', { description: 'Address the agent HTTP API binds.' }),
        port: Port(9464, { description: 'Agent HTTP port (/metrics, /v1/*); 0 picks a free port.' }),
        nodeName: Str('', {
          description: 'Node name the agent reports; empty = the host name (set it from spec.nodeName on Kubernetes).',
        }),
        bodyLimit: Size(1 * MiB, 1 * KiB, 64 * MiB, { description: 'Largest request body the agent accepts.' }),
        coordinator: Str('', {
          alias: '--coordinator',
          pattern: '^(https?://\\S+)?$',
          expected: 'an http(s) URL of the coordinator control port, e.g. http://brixlet-coordinator:8081',
          description: 'Coordinator control URL the agent reports to (inventory, device health, KV summary); empty = do not report.',
        }),
        coordinatorTokenFile: Str('', {
          description:
            'File holding this node\'s token, sent as the bearer token of every report (brixlet token node NAME --secret-file SECRET derives it from the coordinator\'s --control.token-file); mode 0600.',
        }),
        coordinatorAuth: Enum(['token', 'kubernetes'] as const, 'token', {
          description:
            'What the agent proves its node with: token = the node token in --agent.coordinator-token-file; kubernetes = its pod\'s ServiceAccount token (--agent.service-account-token-file, re-read every report), for a coordinator in kubernetes auth mode.',
        }),
        serviceAccountTokenFile: Str('/var/run/secrets/kubernetes.io/serviceaccount/token', {
          description: 'The ServiceAccount token sent with --agent.coordinator-auth kubernetes (kubelet rotates it: read before every report).',
        }),
        advertiseUrl: Str('', {
          description: 'URL the coordinator uses to reach this agent; empty = derived from the listen address and the host name.',
        }),
        apiTokenFile: Str('', {
          description:
            'File holding a bearer token (at least 16 characters, mode 0600) that GET /v1/kvcache callers send to see namespace names, layouts and slab paths; others see the figures only. Empty = nobody sees names over HTTP.',
        }),
        heartbeat: Duration(10_000, 200, 600_000, {
          description: 'How often the agent reports when nothing changed; a change (device health, KV use) is reported at once.',
        }),
      },
      'The per-node agent (DaemonSet).',
    ),
    gateway: Section(
      {
        host: Str('0.0.0.0', { description: 'Address the OpenAI-compatible gateway binds.' }),
        port: Port(8080, { description: 'Gateway port; 0 picks a free port.' }),
        bodyLimit: Size(8 * MiB, 1 * KiB, 256 * MiB, {
          description:
            'Largest request body the gateway accepts (413 over it). vLLM sets no byte limit of its own; its requests are bounded by the context length (128k tokens of JSON text is about 1MiB), so 8MiB leaves room for a few inline images, and equals the mock engine\'s limit.',
        }),
        bodyTimeout: Duration(30_000, 100, 3_600_000, {
          description: 'Time to receive a whole request body once its headers are in; past it the client gets 408 and the connection is closed.',
        }),
        maxBufferedBody: Size(64 * MiB, 0, 16 * GiB, {
          description:
            'Request-body bytes the gateway holds at once (read or being read, until the request ends); a request whose declared or growing body would pass it gets 503 with Retry-After before more is read. One body is always admitted when none is held. 0 = no limit.',
        }),
        policy: Enum(ROUTING_POLICIES, 'cost', {
          description:
            'Routing policy when a request has no routing-strategy header: cost (default: uncached prefill + active load, GPU-speed aware, imbalance guard), prefix-cache, kv-aware, least-request, least-kv-cache, least-busy-time, least-latency, throughput or random.',
        }),
        engines: Str('', {
          pattern: '^([^,\\s]+(,[^,\\s]+)*)?$',
          expected: 'a comma-separated list of URL[#gpu-type] (e.g. http://10.0.0.5:8000#h100,http://10.0.0.6:8000#a10)',
          description: 'Static engines (vLLM OpenAI servers); models come from each engine\'s /v1/models, #gpu-type selects the speed profile.',
        }),
        engineSelector: Str('', {
          description: 'Label selector of engine pods to discover through the Kubernetes API (e.g. app=vllm); empty = no discovery. Multi-node replicas: heads only.',
        }),
        enginePort: Port(8000, { description: 'Port of discovered engine pods (their container port named http is used when present).' }),
        probeInterval: Duration(1000, 50, 60_000, { description: 'How often each engine\'s /health and /metrics are read.' }),
        connectTimeout: Duration(5000, 50, 120_000, { description: 'Time to connect to an engine before the next engine is tried.' }),
        firstByteTimeout: Duration(120_000, 100, 3_600_000, {
          description: 'Time from sending a request to the engine\'s first response byte (queueing + prefill); past it the client gets 504 (never retried: the engine may be generating).',
        }),
        idleTimeout: Duration(60_000, 100, 3_600_000, { description: 'Longest silence inside a response (between streamed chunks) before it is aborted.' }),
        sendTimeout: Duration(60_000, 100, 3_600_000, {
          description:
            'Longest time a client may accept no response bytes while the gateway has some to send (nginx\'s send_timeout); past it the engine request is aborted, the in-flight slot freed and the connection closed.',
        }),
        responseLimit: Size(64 * MiB, 1 * KiB, 1 * GiB, { description: 'Largest non-streaming response body accepted from an engine.' }),
        retries: Int(1, 0, 8, {
          description: 'Other engines tried when an engine provably never got the request (connection refused or timed out, or reset before the request was written); never after it was sent.',
        }),
        prefixBlock: Int(128, 8, 65_536, { description: 'Prefix-index block length in tokens (characters unless a tokenizer is configured).' }),
        prefixCapacity: Int(200_000, 1024, 16 * 1024 * 1024, { description: 'Prefix-index blocks remembered across all engines (LRU per engine).' }),
        maxInFlight: Int(0, 0, 1_000_000, {
          description: 'Requests the gateway proxies at once, counted from their headers (before the body is read); over it new requests get 429 with Retry-After. 0 = no limit.',
        }),
        tokenizer: Enum(['characters', 'engine'] as const, 'characters', {
          description:
            'How prompts are counted and cut into prefix blocks: characters (default, no round trip), or engine (the token ids from POST /tokenize of an engine serving the model, vLLM\'s endpoint; characters when it fails). Unset, it is engine with --gateway.kv-events.',
        }),
        kvEvents: Bool(false, {
          description:
            'Route on the blocks each engine reports through its KV events (vLLM --kv-events-config; ZMQ PUB): exact prefix matches per engine while its events flow, the approximate index otherwise. Matching compares token ids: an unset --gateway.tokenizer becomes engine; characters is refused.',
        }),
        kvEventsPort: Port(5557, { description: 'KV events PUB port on an engine\'s host, for engines --gateway.kv-events-endpoints does not list (vLLM\'s default 5557).' }),
        kvEventsReplayPort: Int(0, 0, 65_535, { description: 'KV events replay (ROUTER) port on an engine\'s host, asked for batches missed in a gap; 0 = no replay.' }),
        kvEventsEndpoints: Str('', {
          pattern: '^([^=,\\s]+=tcp://[^,|\\s]+(\\|tcp://[^,|\\s]+)?(,[^=,\\s]+=tcp://[^,|\\s]+(\\|tcp://[^,|\\s]+)?)*)?$',
          expected: 'a comma-separated list of ENGINE=tcp://HOST:PORT[|tcp://HOST:REPLAYPORT], ENGINE being the engine\'s name (host:port of a static engine, the pod name)',
          description: 'KV events endpoints per engine (PUB, then optionally the replay socket), overriding --gateway.kv-events-port.',
        }),
        kvEventsStale: Duration(10_000, 500, 600_000, { description: 'An engine whose KV events stop for this long is routed on the approximate index until they resume.' }),
        kvEventsCapacity: Int(1_000_000, 1024, 64 * 1024 * 1024, { description: 'Blocks the KV-event index holds across engines (about 120 bytes each); the oldest are dropped past it.' }),
      },
      'The coordinator gateway listener (OpenAI-compatible API).',
    ),
    control: Section(
      {
        host: Str('0.0.0.0', { description: 'Address the coordinator control API binds; beyond loopback it needs credentials (--control.token-file or --control.auth kubernetes) or --control.insecure.' }),
        port: Port(8081, { description: 'Control port (/metrics, /v1/nodes); 0 picks a free port.' }),
        bodyLimit: Size(1 * MiB, 1 * KiB, 64 * MiB, { description: 'Largest request body the control API accepts.' }),
        tokenFile: Str('', {
          description:
            'File holding the cluster secret (mode 0600): the admin bearer token (DELETE, any report) and the key each node token is derived from (HMAC-SHA256; brixlet token node NAME). Empty = no secret.',
        }),
        auth: Enum(['token', 'kubernetes'] as const, 'token', {
          description:
            'How agents prove their node: token = node tokens derived from --control.token-file; kubernetes = the agent pod\'s ServiceAccount token, checked with a TokenReview (node from the token\'s pod binding); the cluster secret and node tokens work too when --control.token-file is set.',
        }),
        serviceAccounts: Str('brixlet-agent', {
          pattern: '^([a-z0-9.-]+(:[a-z0-9.-]+)?(,[a-z0-9.-]+(:[a-z0-9.-]+)?)*)?$',
          expected: 'a comma-separated list of NAME or NAMESPACE:NAME, e.g. brixlet-agent,gpu:agent',
          description: 'ServiceAccounts whose tokens may report with --control.auth kubernetes: NAME (in the coordinator\'s namespace) or NAMESPACE:NAME, comma-separated.',
        }),
        tokenAudience: Str('', {
          description:
            'Audience agent ServiceAccount tokens must be issued for with --control.auth kubernetes (a projected token volume with this audience, e.g. brixlet, so a token the coordinator sees is no good against the API server); empty = the API server\'s own audience.',
        }),
        insecure: Bool(false, {
          description: 'Start even though the control API binds beyond loopback with no credentials: anyone who reaches the port may write node reports (logged as a warning at start).',
        }),
        maxHeartbeat: Duration(60_000, 1000, 3_600_000, {
          description: 'Longest heartbeat a report may claim; a longer one is judged as this (the reply says so, and the agent reports that often).',
        }),
        staleAfter: Int(3, 1, 1000, { description: 'Missed heartbeats after which a node is stale and its engines leave routing.' }),
        nodeConditions: Bool(false, {
          alias: '--node-conditions',
          description: 'Set the BrixletAcceleratorHealthy node condition and a NoSchedule taint through the Kubernetes API while a node has an unhealthy accelerator or is stale; removed on recovery.',
        }),
      },
      'The coordinator control listener (registry, metrics, admin).',
    ),
    optimizer: Section(
      {
        enabled: Enum(['auto', 'on', 'off'] as const, 'auto', {
          description:
            'The GPU optimizer on the control port (plan, explain, profiles, vllm:deployment_replicas, KEDA JSON): auto = on when --optimizer.profiles names files; on = also without profiles (PUT /v1/optimizer/profiles adds them); off.',
        }),
        profiles: Str('', {
          pattern: '^([^,\\s]+(,[^,\\s]+)*)?$',
          expected: 'a comma-separated list of [MODEL=]PATH (AIBrix profile JSON files)',
          listSeparator: ',',
          description: 'GPU profile files (AIBrix JSON, one per GPU type), each [MODEL=]PATH; the model is the prefix, else the profile\'s model field. A model\'s profiles must share one grid.',
        }),
        deployments: Str('', {
          pattern: '^([^,\\s]+(,[^,\\s]+)*)?$',
          expected: 'a comma-separated list of [NAMESPACE/]NAME=[MODEL@]GPU[:REPLICAS]',
          listSeparator: ',',
          description:
            'Deployments the plan scales, one per (model, GPU type): [NAMESPACE/]NAME=[MODEL@]GPU[:REPLICAS] (GPU = the profile\'s gpu; REPLICAS = what runs now). Empty, with no --optimizer.deployment-selector = one per profile, named after its gpu, in --kube.namespace (else default).',
        }),
        deploymentSelector: Str('', {
          description:
            'Label selector of Deployments to plan, read through the Kubernetes API in --kube.namespace (e.g. model.aibrix.ai/name): model from model.aibrix.ai/name, GPU type from brixlet.io/gpu-type else the name, floor from model.aibrix.ai/min_replicas, running replicas from spec.replicas; beside --optimizer.deployments (which win). Empty = none.',
        }),
        interval: Duration(10_000, 500, 3_600_000, { description: 'Re-solve this often; profile, deployment, availability and load changes re-solve sooner (debounced).' }),
        model: Enum(['split', 'slice'] as const, 'split', {
          description: 'split = each request shape\'s load shared continuously over GPU types (never costs more, solves faster); slice = Melange\'s slices, AIBrix\'s model.',
        }),
        available: Str('', {
          pattern: '^([A-Za-z0-9._-]+=\\d+(,[A-Za-z0-9._-]+=\\d+)*)?$',
          expected: 'GPU=COUNT[,GPU=COUNT…] (e.g. a10=4,l20=8)',
          description: 'GPUs of each type that exist (availability caps). Types it does not name are capped by the healthy GPUs the agents report (matched by model, e.g. NVIDIA L20 is l20) while any agent reports one; empty and no reports = no caps.',
        }),
        min: Str('', {
          pattern: '^([A-Za-z0-9._-]+=\\d+(,[A-Za-z0-9._-]+=\\d+)*)?$',
          expected: 'GPU=COUNT[,GPU=COUNT…] (e.g. l20=1)',
          description: 'Fewest replicas per GPU type, also with no load (AIBrix\'s model.aibrix.ai/min_replicas).',
        }),
        totalMax: Int(0, 0, 1_000_000, { description: 'Most GPUs over all deployments; 0 = no total cap.' }),
        headroom: Int(100, 1, 100, { description: 'Percent of each GPU\'s profiled throughput the plan may use (e.g. 90 leaves 10 % for bursts).' }),
        switchingCost: Int(0, 0, 100_000, {
          description:
            'Cost of each GPU added or removed against the plan in force, in percent of the cheapest profiled GPU\'s cost (symmetric: it also holds GPUs when the load drops; --optimizer.add-cost and --optimizer.plan-gate keep mixes steady without that). 0 = none.',
        }),
        addCost: Int(100, 0, 100_000, {
          description:
            'Cost of each GPU added above the plan in force (a cold start), in percent of the cheapest profiled GPU\'s cost, on top of --optimizer.switching-cost; removals pay none (the scale-down window delays them). Near-equal mixes do not take turns, each holding its GPUs for a window. 0 = none.',
        }),
        planGate: Int(10, 0, 100, {
          description: 'A new GPU mix replaces the plan in force only when it costs more than this percent less, or when the plan in force no longer carries the load. 0 = every new plan replaces the last.',
        }),
        routeSplit: Bool(true, {
          description:
            'The gateway follows the plan\'s split: a request of a planned model goes to a GPU type with the plan\'s share for its shape (prompt tokens × max_tokens, else the mean output), then the routing policy picks among that type\'s engines; all engines when none of the type is routable. false = the policy alone.',
        }),
        scaleDownWindow: Duration(120_000, 0, 86_400_000, { description: 'A deployment scales down only after the lower count has been asked for this long; scale-up is at once.' }),
        forecastLead: Duration(90_000, 0, 3_600_000, {
          description:
            'Plan for the load expected this far ahead — set it to a replica\'s cold start (pull, load, warm-up): the rate planned for is the larger of the rate now and its trend (fitted to about the last minute of arrivals) projected this far, so GPUs asked for on a ramp are ready when the load arrives. Never below the rate now: a falling trend does not scale down early. 0 = plan for the rate now.',
        }),
        timeLimit: Duration(5000, 100, 600_000, { description: 'Longest one solve may run; past it the best plan found stands, or the previous plan stays.' }),
        aibrixCompat: Bool(false, {
          description: 'Serve vllm:deployment_replicas in 1/100 GPU units, as AIBrix\'s optimizer does (for an AIBrix PodAutoscaler with targetValue "100"); off = whole replicas.',
        }),
        scale: Bool(false, {
          description:
            'Scale the planned deployments directly through their scale subresource (apps/v1 deployments/scale), where no AIBrix PodAutoscaler or KEDA reads the plan; needs get and patch on deployments/scale.',
        }),
        scaleBounds: Str('', {
          pattern: '^([^,\\s]+(,[^,\\s]+)*)?$',
          expected: 'a comma-separated list of [NAMESPACE/]NAME=MIN:MAX',
          listSeparator: ',',
          description: 'With --optimizer.scale: replica bounds per deployment, [NAMESPACE/]NAME=MIN:MAX (either side may be empty).',
        }),
        scaleUpCooldown: Duration(0, 0, 86_400_000, { description: 'With --optimizer.scale: least time from a change to a deployment to its next scale-up.' }),
        scaleDownCooldown: Duration(300_000, 0, 86_400_000, {
          description: 'With --optimizer.scale: least time from a change to a deployment (or the coordinator\'s start) to its next scale-down, on top of --optimizer.scale-down-window.',
        }),
      },
      'The GPU optimizer: cheapest GPU mix per model from profiles and live load, served to autoscalers.',
    ),
    orchestrator: Section(
      {
        enabled: Bool(false, {
          description:
            'Reconcile ModelFleets (brixlet.io/v1alpha1) into KubeRay RayClusters or LeaderWorkerSets through the Kubernetes API: rollouts, scaling, repairs, GPU-health-aware placement; GET /v1/orchestrator/fleets on the control port.',
        }),
        namespace: Str('', { description: 'Namespace whose ModelFleets are reconciled; empty = --kube.namespace, else the kubeconfig or pod namespace.' }),
        leaderElection: Enum(['auto', 'on', 'off'] as const, 'auto', {
          description:
            'Only the coordinator holding the Lease brixlet-orchestrator (in the orchestrator namespace) reconciles: auto = on when running in a cluster (KUBERNETES_SERVICE_HOST set); off = this coordinator always reconciles (one coordinator only).',
        }),
        resync: Duration(60_000, 1000, 86_400_000, { description: 'Every fleet is reconciled this often even without events (informers deliver changes at once).' }),
        probeInterval: Duration(10_000, 500, 3_600_000, {
          description: 'How often a fleet\'s replicas are probed (Ray dashboard alive nodes, engine /health) and the fleet reconciled while it has replicas.',
        }),
      },
      'Multi-node orchestration: ModelFleets reconciled into RayClusters (ray) or LeaderWorkerSets (lws) by the leader coordinator.',
    ),
    accel: Section(
      {
        backend: Str('auto', {
          alias: '--accel',
          pattern: '^(auto|nvml|dcmi|none|sim:[\\w./-]+)$',
          expected: 'auto, nvml, dcmi, none or sim:<scenario>',
          description:
            'Accelerator backend: auto (every vendor library that loads and is real), nvml, dcmi, none, or sim:<scenario> (a name from mocks/scenarios/ or a path to a scenario JSON).',
        }),
        sampleInterval: Duration(5000, 100, 600_000, { description: 'How often every device is sampled into a new snapshot.' }),
        callTimeout: Duration(2000, 100, 60_000, {
          description: 'How long one NVML or DCMI sampling call may run before its device is reported unknown (the call is left on its thread; the device is not called again until it returns).',
        }),
        xidIgnore: Str('13,31,43,45,68,109', {
          pattern: '^(\\d+(,\\d+)*)?$',
          expected: 'a comma-separated list of XID numbers',
          description: 'XIDs that do not affect device health (application errors); comma-separated.',
        }),
        expectedCount: Int(0, 0, 1024, { description: 'Devices expected on this node, checked by diagnose; 0 = do not check.' }),
        dcgmMetrics: Bool(true, { description: 'Export dcgm-exporter compatible DCGM_FI_* families for NVIDIA GPUs.' }),
        npuMetrics: Bool(true, { description: 'Export npu-exporter compatible npu_chip_info_* families for Ascend NPUs.' }),
      },
      'Accelerator telemetry (NVIDIA NVML, Ascend DCMI, or a simulated scenario).',
    ),
    nvml: Section(
      {
        library: Str('', {
          description: 'Path to libnvidia-ml.so.1; empty = the dynamic linker, then known driver paths (incl. /run/nvidia/driver and /host).',
        }),
      },
      'NVIDIA Management Library.',
    ),
    dcmi: Section(
      {
        library: Str('', { description: 'Path to libdcmi.so; empty = known Ascend driver paths.' }),
      },
      'Huawei Ascend DCMI library.',
    ),
    faults: Section(
      {
        enabled: Bool(false, { description: 'Serve the fault-injection API (/v1/faults) on the agent; needs --faults.token-file.' }),
        tokenFile: Str('', { description: 'File holding the bearer token every /v1/faults request must send; required when faults are enabled.' }),
        ruleFile: Str('/run/brixlet/faults.json', {
          description: 'Where the agent writes its NVML/DCMI rules for the LD_PRELOAD interposer (processes read it via BRIXLET_INJECT_RULES); empty = do not write.',
        }),
        ruleFileLease: Duration(60_000, 1000, 3_600_000, {
          description:
            'Longest a rule stays in the rule file without the agent rewriting it (it does every third of this while rules are active): after a crash or SIGKILL, interposed processes stop seeing the faults within this time.',
        }),
      },
      'Accelerator fault injection (failure mock-up).',
    ),
    kv: Section(
      {
        enabled: Bool(true, { description: 'Host this node\'s KV cache shard (slabs, index, lease socket) in the agent.' }),
        dir: Str('/dev/shm/brixlet', {
          description: 'tmpfs directory holding the slab files; engines must see it at the same path (hostPath).',
        }),
        socket: Str('/run/brixlet/kv.sock', {
          description:
            'Unix socket engines connect to; if the default directory cannot be created (not root), <tmpdir>/brixlet-<uid>/kv.sock is used and logged.',
        }),
        capacity: Size(1 * GiB, 4 * MiB, 4 * TiB, { description: 'Total bytes of slab memory (rounded down to whole slabs of --kv.slab-size).' }),
        slabSize: Size(1 * GiB, 4 * MiB, 4 * GiB, {
          description: 'Bytes per slab file; at most 4GiB (one koffi view on Node 20); a multiple of --kv.page-size.',
        }),
        pageSize: Size(4 * MiB, 64 * KiB, 64 * MiB, {
          description: 'Allocation page: slabs are cut into pages, each page into slots of one namespace block size; the largest block a namespace may use.',
        }),
        policy: Enum(['arc', 's3fifo', 'lru', 'fifo'] as const, 'arc', {
          description: 'Eviction policy: arc (default: adaptive, scan resistant), s3fifo, lru or fifo; the hit-ratio table in docs/benchmarks.md compares them on KV traces.',
        }),
        smallQueuePercent: Int(30, 1, 90, { description: 'S3-FIFO (--kv.policy s3fifo) small-queue share of cached blocks, in percent.' }),
        leaseTtl: Duration(30_000, 100, 3_600_000, {
          description: 'How long a read or write lease pins its block; an expired write lease drops the block.',
        }),
        maxEntries: Int(0, 0, 64 * 1024 * 1024, {
          description: 'Index capacity in blocks; 0 = capacity / 64KiB (at least 1024).',
        }),
        quotas: Str('', {
          pattern: '^([^=,\\s]+=[^=,\\s]+(,[^=,\\s]+=[^=,\\s]+)*)?$',
          expected: 'namespace=SIZE[,namespace=SIZE…] (e.g. tenant-a=8GiB)',
          description: 'Per-namespace capacity quotas; writes beyond a quota evict that namespace\'s own blocks first.',
        }),
        maxConnections: Int(256, 1, 65_536, { description: 'Engine connections the socket accepts at once.' }),
        maxBatch: Int(4096, 1, 65_536, { description: 'Keys or leases one request may carry.' }),
        maxFrame: Size(1 * MiB, 4 * KiB, 64 * MiB, { description: 'Largest protocol frame accepted (header included).' }),
        maxLeases: Int(65_536, 16, 16 * 1024 * 1024, { description: 'Leases one connection may hold at once.' }),
        maxWriteLeases: Int(4096, 1, 16 * 1024 * 1024, {
          description: 'Write leases (unsealed ALLOC blocks) one connection may hold at once; an ALLOC beyond it gets TOO_MANY_LEASES.',
        }),
        maxWritingBytes: Size(0, 0, 4 * TiB, {
          description: 'Slot bytes one connection may hold under write leases at once; 0 = a quarter of --kv.capacity. An ALLOC beyond it gets TOO_MANY_LEASES.',
        }),
        idleTimeout: Duration(300_000, 0, 86_400_000, {
          description: 'Close an engine connection that sends no frame for this long and holds no lease; 0 = never.',
        }),
        namespaceShare: Int(75, 1, 100, {
          description:
            'Percent of the shard one namespace without a --kv.quotas entry may hold while another namespace holds blocks (beyond it, its own blocks are evicted first); a namespace alone may use all of it; 100 = no limit.',
        }),
        maxNamespaces: Int(64, 1, 4096, { description: 'Namespaces the shard keeps at once.' }),
        group: Str('', {
          pattern: '^([0-9]+|[A-Za-z_][A-Za-z0-9_.-]*)?$',
          expected: 'a group name or a numeric gid',
          description:
            'Owning group of the default pool: group of its slab directory (0750), slab files and socket (0660); engines reach the shard through it (Kubernetes: supplementalGroups). Empty = the agent\'s effective gid.',
        }),
        allowUids: Str('', {
          pattern: '^([0-9A-Za-z_.-]+(,[0-9A-Za-z_.-]+)*)?$',
          expected: 'a comma-separated list of uids or user names',
          description: 'Peer uids (SO_PEERCRED) the default pool admits besides root and the agent\'s own uid; comma-separated uids or user names.',
        }),
        allowGids: Str('', {
          pattern: '^([0-9A-Za-z_.-]+(,[0-9A-Za-z_.-]+)*)?$',
          expected: 'a comma-separated list of gids or group names',
          description:
            'Peers whose primary or supplementary gid is listed are admitted to the default pool; empty = the owning group (--kv.group). Others get NOT_ALLOWED and are closed.',
        }),
        maxConnectionsPerUid: Int(64, 1, 65_536, {
          description: 'Connections one peer uid may hold on a pool at once (at most --kv.max-connections); more get TOO_MANY_CONNECTIONS and are closed.',
        }),
        maxNamespacesPerUid: Int(0, 0, 4096, {
          description:
            'Namespaces one peer uid may create that hold blocks or connections; a HELLO creating one more gets TOO_MANY_NAMESPACES. 0 = three quarters of --kv.max-namespaces.',
        }),
        pools: Str('', {
          listSeparator: ';',
          description:
            'More KV pools besides the default one, each with its own socket, slab directory, capacity, owning group and allowed peers: `name=a,socket=/run/brixlet/a/kv.sock,dir=/dev/shm/brixlet-a,capacity=8GiB,group=2000,uids=1000:1001,gids=3000;name=b,…` (name, socket and dir required; capacity defaults to --kv.capacity, group to --kv.group, uids/gids as --kv.allow-uids/--kv.allow-gids for that group). In a config file also a list of such strings or of mappings.',
        }),
        prefault: Bool(true, {
          description: 'Allocate every slab page at start (fallocate) so engines never take first-touch faults and the memory is charged to the agent.',
        }),
        peerPort: Port(9465, {
          description: 'TCP port of the KV peer listener: other agents of the pool read this node\'s blocks here (docs/kv-protocol.md, peer protocol; mutual handshake with the pair key from the coordinator). 0 = off.',
        }),
        peerHost: Str('0.0.0.0', { description: 'Address the KV peer listener binds.' }),
        peerAdvertise: Str('', {
          description: 'host:port other agents dial for this node\'s peer listener, reported to the coordinator; empty = the agent\'s reported host (the host of --agent.advertise-url, else the first of --kv.peer-host and --agent.host that is not a wildcard, else the host name) at --kv.peer-port.',
        }),
        remoteMinBlocks: Int(4, 1, 65_536, {
          description: 'An engine\'s LOOKUP_REMOTE fetches from other agents only when at least this many blocks of its chain are missing past the local hit (and --kv.remote-min-percent of the chain); shorter gaps are recomputed faster than fetched.',
        }),
        remoteMinPercent: Int(10, 0, 100, {
          description: 'LOOKUP_REMOTE fetches only when the missing part is at least this percent of the chain (with --kv.remote-min-blocks).',
        }),
        remoteBudget: Duration(20, 1, 60_000, {
          description: 'Time a LOOKUP_REMOTE that names no budget may spend on the directory and the peers; it answers with what arrived by then.',
        }),
        remoteBudgetMax: Duration(200, 1, 60_000, {
          description: 'The most time an engine may ask one LOOKUP_REMOTE to spend (a larger budget is cut to this).',
        }),
        directoryTtl: Duration(300_000, 1000, 86_400_000, {
          description:
            'How long the pool directory keeps an entry (this agent holds hot block K) after its last publish; a hot block hit again after half of it is published again. Readers treat a holder that no longer has a block as a miss.',
        }),
        directoryMaxEntries: Int(1_048_576, 1024, 64 * 1024 * 1024, {
          description: 'Entries (namespace, key, holder) one pool\'s directory keeps as a chain home (44 bytes each, allocated as they are used); beyond it the oldest is forgotten.',
        }),
        publishQueue: Int(65_536, 16, 16 * 1024 * 1024, {
          description: 'Directory deltas (hot block held or evicted) queued per home agent before they are sent; beyond it deltas are dropped and counted (brixlet_kvcache_publish_deltas_total{state="dropped"}).',
        }),
      },
      'Node KV cache shard: shared-memory slabs and the lease protocol engines speak over a unix socket.',
    ),
    kube: Section(
      {
        kubeconfig: Str('', { description: 'Path to a kubeconfig; empty = KUBECONFIG, then the in-cluster service account.' }),
        namespace: Str('', { description: 'Namespace for namespaced objects brixlet creates; empty = the kubeconfig or pod namespace.' }),
      },
      'Kubernetes API access (chaos, discovery, orchestration).',
    ),
    shutdown: Section(
      {
        timeout: Duration(10_000, 100, 600_000, {
          description: 'How long SIGTERM/SIGINT waits for in-flight work to drain before exiting.',
        }),
      },
      'Process lifecycle.',
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
