import type { PanelView } from '../shared/api';
import { dueText, isOverdue, ReviewDecisionButtons } from '../shared/review-decision';

/**
 * The contact's possible opt-out, above the conversation: their words, when they came and when a decision is due,
 * and the two decisions. Automations do not text the contact until someone decides.
 */
export function ReviewCard({ review, onDecided }: { review: NonNullable<PanelView['review']>; onDecided: () => void }) {
  const overdue = isOverdue(review.dueBy);
  return (
    <section className="review-card" aria-labelledby="review-title" data-testid="panel-review" data-overdue={overdue}>
      <p id="review-title">
        <strong>Possible opt-out request</strong>
      </p>
      <p className="review-text" data-testid="panel-review-body">
        “{review.body}”
      </p>
      <p className="review-due">
        Received {new Date(review.receivedAt).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })} ·{' '}
        <span className={overdue ? 'review-overdue' : undefined} data-testid="panel-review-due">
          {overdue ? 'Overdue: was due' : 'Decide by'} {dueText(review.dueBy)}
        </span>
        . Automations do not text this contact until it is decided.
      </p>
      <ReviewDecisionButtons reviewId={review.id} onDecided={onDecided} />
    </section>
  );
}
