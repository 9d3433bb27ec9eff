import { useState } from 'react';
import { api, ApiError, type Review } from './api';
import { confirmAction, snackbar } from './sdk';
import './review.css';

/**
 * When a possible opt-out is due: the end of a business day in the company's time zone, shown in the reader's own
 * with its time (a reader elsewhere sees "Sat 4:59 AM" rather than a day that is wrong for them).
 */
export function dueText(dueBy: string): string {
  return new Date(dueBy).toLocaleString(undefined, { weekday: 'short', month: 'short', day: 'numeric', year: 'numeric', hour: 'numeric', minute: '2-digit' });
}

/** Past its due date and still waiting. */
export function isOverdue(dueBy: string, now = Date.now()): boolean {
  return Date.parse(dueBy) < now;
}

/**
 * The two decisions on a possible opt-out: "Opt out" (asked to confirm: only the contact can undo it, by texting
 * START) and "Not an opt-out" (texts may go again). Another user deciding first is said plainly, and the caller
 * reloads either way.
 */
export function ReviewDecisionButtons(props: { reviewId: string; phone?: string; onDecided: (review: Review | null) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const decide = async (decision: 'opt_out' | 'not_opt_out') => {
    if (decision === 'opt_out') {
      const ok = await confirmAction({
        title: props.phone ? `Opt out ${props.phone}?` : 'Opt this contact out?',
        description: 'No automation or person will text this number again until the contact texts START. "SMS consent" in Pipedrive becomes "Opted out".',
        okText: 'Opt out',
        danger: true,
      });
      if (!ok) return;
    }
    setBusy(true);
    setError(null);
    try {
      const review = await api.reviews.decide(props.reviewId, decision);
      void snackbar(decision === 'opt_out' ? 'Opted out' : 'Marked as not an opt-out');
      props.onDecided(review);
    } catch (e) {
      const apiError = e instanceof ApiError ? e : new ApiError('The decision failed', 500, null);
      if (apiError.status === 409) {
        void snackbar('Someone else decided this one already');
        props.onDecided(null);
        return;
      }
      setError(apiError.status === 404 ? 'This possible opt-out is no longer there.' : apiError.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="review-decisions" data-testid="review-decisions">
      <button type="button" className="danger" data-testid="review-opt-out" disabled={busy} onClick={() => void decide('opt_out')}>
        Opt out
      </button>
      <button type="button" className="secondary" data-testid="review-not-opt-out" disabled={busy} onClick={() => void decide('not_opt_out')}>
        Not an opt-out
      </button>
      {error && (
        <span className="inline-error" role="alert" data-testid="review-error">
          {error}
        </span>
      )}
    </div>
  );
}
