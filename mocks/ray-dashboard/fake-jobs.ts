/**
 * The fake dashboard's Jobs API state: submissions keyed by submission_id, moved through
 * PENDING → RUNNING → SUCCEEDED | FAILED one step per `advance()`, so a test decides when a job
 * starts and ends. Records carry the snake_case `JobDetails` fields the real dashboard returns.
 */
import { randomBytes } from 'node:crypto';

export type FakeJobStatus = 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';

export interface FakeJob {
  type: 'SUBMISSION';
  job_id: string | null;
  submission_id: string;
  driver_info: null;
  status: FakeJobStatus;
  entrypoint: string;
  message: string;
  error_type: string | null;
  start_time: number;
  end_time: number | null;
  metadata: Record<string, string>;
  runtime_env: Record<string, unknown>;
  driver_agent_http_address: string | null;
  driver_node_id: string | null;
  driver_exit_code: number | null;
  entrypoint_num_cpus: number | null;
  entrypoint_num_gpus: number | null;
  entrypoint_memory: number | null;
  entrypoint_resources: Record<string, number> | null;
}

export interface FakeJobOutcome {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly message?: string;
  readonly exitCode?: number;
}

/** What a request handler answers: a status and a JSON value or a plain text. */
export interface FakeAnswer {
  readonly status: number;
  readonly json?: unknown;
  readonly text?: string;
}

const TERMINAL: ReadonlySet<FakeJobStatus> = new Set(['STOPPED', 'SUCCEEDED', 'FAILED']);
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export class FakeJobStore {
  private readonly jobs = new Map<string, FakeJob>();
  private readonly outcomes = new Map<string, FakeJobOutcome>();
  private readonly logs = new Map<string, string>();
  private driverCount = 0;

  constructor(private readonly now: () => number, private readonly headNodeId: () => string) {}

  list(): FakeJob[] {
    return [...this.jobs.values()].map((j) => structuredClone(j));
  }

  get(id: string): FakeJob | undefined {
    const job = this.find(id);
    return job ? structuredClone(job) : undefined;
  }

  /** How a job ends when `advance()` takes it past RUNNING (default SUCCEEDED). */
  setOutcome(id: string, outcome: FakeJobOutcome): void {
    this.outcomes.set(id, outcome);
  }

  appendLog(id: string, text: string): void {
    this.logs.set(id, (this.logs.get(id) ?? '') + text);
  }

  /** One step for every job not yet ended; answers how many moved. */
  advance(): number {
    let moved = 0;
    for (const job of this.jobs.values()) {
      if (job.status === 'PENDING') {
        this.driverCount += 1;
        job.status = 'RUNNING';
        job.job_id = this.driverCount.toString(16).padStart(2, '0') + '000000';
        job.message = 'Job is currently running.';
        job.driver_agent_http_address = 'http://10.0.0.1:52365';
        job.driver_node_id = this.headNodeId();
        moved += 1;
      } else if (job.status === 'RUNNING') {
        const outcome = this.outcomes.get(job.submission_id) ?? { status: 'SUCCEEDED' };
        job.status = outcome.status;
        job.end_time = this.now();
        if (outcome.status === 'SUCCEEDED') {
          job.message = outcome.message ?? 'Job finished successfully.';
          job.driver_exit_code = outcome.exitCode ?? 0;
        } else {
          const code = outcome.exitCode ?? 1;
          job.message = outcome.message ?? `Job entrypoint command failed with exit code ${code}, last available logs (truncated to 20,000 chars):\n`;
          job.error_type = 'JOB_ENTRYPOINT_COMMAND_ERROR';
          job.driver_exit_code = code;
        }
        moved += 1;
      }
    }
    return moved;
  }

  submit(body: unknown): FakeAnswer {
    const b = body as Record<string, unknown> | null;
    if (typeof b !== 'object' || b === null || typeof b.entrypoint !== 'string') {
      return { status: 400, text: 'Traceback (most recent call last):\nTypeError: JobSubmitRequest.__init__() missing 1 required positional argument: \'entrypoint\'' };
    }
    const id = typeof b.submission_id === 'string' ? b.submission_id : `raysubmit_${randomId(16)}`;
    if (this.jobs.has(id)) {
      return {
        status: 500,
        text: `Traceback (most recent call last):\nRuntimeError: Request failed with status code 400: Traceback (most recent call last):\nValueError: Job with submission_id ${id} already exists. Please use a different submission_id.`,
      };
    }
    const num = (v: unknown) => (typeof v === 'number' ? v : null);
    this.jobs.set(id, {
      type: 'SUBMISSION',
      job_id: null,
      submission_id: id,
      driver_info: null,
      status: 'PENDING',
      entrypoint: b.entrypoint,
      message: 'Job has not started yet. It may be waiting for resources (CPUs, GPUs, memory, custom resources) to become available.',
      error_type: null,
      start_time: this.now(),
      end_time: null,
      metadata: (b.metadata as Record<string, string> | undefined) ?? {},
      runtime_env: (b.runtime_env as Record<string, unknown> | undefined) ?? {},
      driver_agent_http_address: null,
      driver_node_id: null,
      driver_exit_code: null,
      entrypoint_num_cpus: num(b.entrypoint_num_cpus),
      entrypoint_num_gpus: num(b.entrypoint_num_gpus),
      entrypoint_memory: num(b.entrypoint_memory),
      entrypoint_resources: (b.entrypoint_resources as Record<string, number> | undefined) ?? null,
    });
    return { status: 200, json: { job_id: id, submission_id: id } };
  }

  stop(id: string): FakeAnswer {
    const job = this.find(id);
    if (!job) return missing(id);
    if (TERMINAL.has(job.status)) return { status: 200, json: { stopped: false } };
    job.status = 'STOPPED';
    job.message = 'Job was intentionally stopped.';
    job.end_time = this.now();
    return { status: 200, json: { stopped: true } };
  }

  delete(id: string): FakeAnswer {
    const job = this.find(id);
    if (!job) return missing(id);
    if (!TERMINAL.has(job.status)) {
      return {
        status: 500,
        text: `Traceback (most recent call last):\nRuntimeError: Attempted to delete job '${job.submission_id}', but it is in a non-terminal state ${job.status}.`,
      };
    }
    this.jobs.delete(job.submission_id);
    return { status: 200, json: { deleted: true } };
  }

  info(id: string): FakeAnswer {
    const job = this.find(id);
    return job ? { status: 200, json: job } : missing(id);
  }

  logsOf(id: string): FakeAnswer {
    const job = this.find(id);
    return job ? { status: 200, json: { logs: this.logs.get(job.submission_id) ?? '' } } : missing(id);
  }

  /** By submission_id, or by the driver's job_id (the dashboard accepts either). */
  private find(id: string): FakeJob | undefined {
    return this.jobs.get(id) ?? [...this.jobs.values()].find((j) => j.job_id === id);
  }
}

function missing(id: string): FakeAnswer {
  return { status: 404, text: `Job ${id} does not exist` };
}

function randomId(n: number): string {
  return [...randomBytes(n)].map((b) => ALNUM[b % ALNUM.length]).join('');
}
