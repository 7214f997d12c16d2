// The fake Kubernetes API server for tests; README.md in this folder documents it.
export { startFakeApiServer, SERVICE_ACCOUNT_PATH, type FakeApiServer, type FakeApiServerOptions } from './fake-api-server.js';
export { ResourceStore, resourceId, type ResourceDefinition, type ScaleSubresource, type StoredObject, type StoreEvent } from './resource-store.js';
export type { InjectedFailure, RecordedRequest, ReviewedUser } from './request-handler.js';
export { createSelfSignedCert, type SelfSignedCert } from './self-signed-cert.js';
export { CRD_DEFINITION, CRD_ID, definitionFromCrd } from './crds.js';
export { applyJsonPatch, applyMergePatch } from './patch.js';
export { ApiStatusError, statusObject, type StatusCause, type StatusReason } from './api-status.js';
export { celRulesOf, compileCelRules, type CelEngine, type CelFailure, type CelRuleSpec, type CompiledCel } from './cel-rules.js';
export { createCustomResourceValidator, type FieldValidation, type ObjectCheck } from './crd-validation.js';
export { parseFieldSelector, parseLabelSelector } from './selectors.js';
