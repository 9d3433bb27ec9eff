import type { ApiError } from '../shared/api';
import { describeError } from './use-resource';

/** A section whose data could not be loaded: why, in words, and a way to try again. */
export function LoadError(props: { testId: string; error: ApiError; what: string; onRetry: () => void }) {
  return (
    <div className="error-box" role="alert" data-testid={props.testId}>
      <p>{describeError(props.error, props.what)}</p>
      <button type="button" className="secondary" onClick={props.onRetry}>
        Try again
      </button>
    </div>
  );
}
