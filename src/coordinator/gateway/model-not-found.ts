/**
 * The 404 for a model no engine serves, saying what would work instead: the models that are served
 * (the closest first when the name looks like a typo), or that no engine is configured at all and how
 * to add one — the first request on a fresh `brixlet up` lands here.
 */
import { BrixletError } from '../../common/errors.js';
import { suggestMany } from '../../common/suggest.js';
import type { EngineSetView } from '../engines/types.js';

/** How many served model names the message lists before "… (N in all)". */
export const LISTED_MODELS = 10;

export function modelNotFound(model: string, engines: Pick<EngineSetView, 'all'>): BrixletError {
  const all = engines.all();
  const served = [...new Set(all.flatMap((e) => e.models))].sort();
  let detail: string;
  if (all.length === 0) {
    detail =
      'no engine is configured: give engines with --gateway.engines URL,… or --gateway.engine-selector, ' +
      'or run brixlet up --engines N for mock engines';
  } else {
    const hints = suggestMany(model, served);
    const listed = served.slice(0, LISTED_MODELS).join(', ') + (served.length > LISTED_MODELS ? `, … (${served.length} in all)` : '');
    detail = `${hints.length > 0 ? `did you mean ${hints.join(', ')}? ` : ''}served: ${listed}`;
  }
  return new BrixletError('BRX_ERR_GATEWAY_MODEL_NOT_FOUND', { model, detail });
}
