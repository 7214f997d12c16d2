/**
 * The Ray dashboard's answers as brixlet reads them (TypeBox, checked before use). Only the fields
 * brixlet needs are required; everything else may come and go between Ray versions.
 *
 * Two conventions live side by side on the dashboard: the older head modules answer
 * `{result, msg, data}` with camelCased keys (`/api/cluster_status`), the state API answers the same
 * envelope with snake_case keys (`/api/v0/nodes`), and the Jobs API answers plain snake_case JSON.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** `{result, msg, data}`: the envelope of the dashboard's head modules. */
export const Envelope = <T extends TSchema>(data: T) => Type.Object({ result: Type.Boolean(), msg: Type.Optional(Type.String()), data });

/** `[used, total]` per resource name (`GPU`, `CPU`, `memory`, `node:10.0.0.1`, …). */
const Usage = Type.Record(Type.String(), Type.Tuple([Type.Number(), Type.Number()]));

/** The autoscaler monitor's report, written to the GCS every few seconds (absent before the first one). */
export const ClusterStatusReport = Type.Object({
  loadMetricsReport: Type.Object({
    usage: Usage,
    /** `[resources of one node shape, how many alive nodes have it]`. */
    nodeTypes: Type.Array(Type.Tuple([Type.Record(Type.String(), Type.Number()), Type.Number()])),
    usageByNode: Type.Optional(Nullable(Type.Record(Type.String(), Usage))),
  }),
  /** Present when an autoscaler runs (KubeRay `enableInTreeAutoscaling`). */
  autoscalerReport: Type.Optional(
    Nullable(
      Type.Object({
        activeNodes: Type.Optional(Type.Record(Type.String(), Type.Number())),
        pendingNodes: Type.Optional(Type.Array(Type.Array(Type.Unknown()))),
        pendingLaunches: Type.Optional(Type.Record(Type.String(), Type.Number())),
        failedNodes: Type.Optional(Type.Array(Type.Array(Type.Unknown()))),
      }),
    ),
  ),
});

export const ClusterStatusData = Type.Object({
  autoscalingStatus: Type.Optional(Nullable(Type.String())),
  autoscalingError: Type.Optional(Nullable(Type.String())),
  clusterStatus: Nullable(ClusterStatusReport),
});

/** One node of the state API (`/api/v0/nodes`). */
export const StateNode = Type.Object({
  node_id: Type.String(),
  node_ip: Type.String(),
  is_head_node: Type.Boolean(),
  state: Type.String(),
  node_name: Type.Optional(Type.String()),
  resources_total: Type.Record(Type.String(), Type.Number()),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  state_message: Type.Optional(Nullable(Type.String())),
});

export const StateNodesData = Type.Object({
  result: Type.Object({
    total: Type.Number(),
    num_after_truncation: Type.Optional(Type.Number()),
    result: Type.Array(StateNode),
  }),
});

export const JOB_STATUSES = ['PENDING', 'RUNNING', 'STOPPED', 'SUCCEEDED', 'FAILED'] as const;

/** `JobDetails` of the Jobs API (`GET /api/jobs/{id}`, items of `GET /api/jobs/`). */
export const JobDetails = Type.Object({
  type: Type.Optional(Type.String()),
  job_id: Type.Optional(Nullable(Type.String())),
  submission_id: Type.Optional(Nullable(Type.String())),
  status: Type.Union(JOB_STATUSES.map((s) => Type.Literal(s))),
  entrypoint: Type.String(),
  message: Type.Optional(Nullable(Type.String())),
  error_type: Type.Optional(Nullable(Type.String())),
  start_time: Type.Optional(Nullable(Type.Number())),
  end_time: Type.Optional(Nullable(Type.Number())),
  metadata: Type.Optional(Nullable(Type.Record(Type.String(), Type.String()))),
  driver_exit_code: Type.Optional(Nullable(Type.Number())),
});
export type JobDetails = Static<typeof JobDetails>;

export const JobList = Type.Array(JobDetails);
export const JobSubmitResponse = Type.Object({ submission_id: Type.String(), job_id: Type.Optional(Nullable(Type.String())) });
export const JobLogsResponse = Type.Object({ logs: Type.String() });
export const JobStopResponse = Type.Object({ stopped: Type.Boolean() });
export const JobDeleteResponse = Type.Object({ deleted: Type.Boolean() });
export const VersionResponse = Type.Object({
  version: Type.String(),
  ray_version: Type.String(),
  ray_commit: Type.Optional(Type.String()),
  session_name: Type.Optional(Type.String()),
});
