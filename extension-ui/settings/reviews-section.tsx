import { api, type Review } from '../shared/api';
import { dueText, isOverdue, ReviewDecisionButtons } from '../shared/review-decision';
import { LoadError } from './load-error';
import { useResource } from './use-resource';

const MUTED = { color: 'var(--muted)' } as const;
const DECIDED_SHOWN = 20;

const when = (iso: string) => new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', year: 'numeric', hour: 'numeric', minute: '2-digit' });

/**
 * Possible opt-outs: replies such as "please stop texting me" that a person must read. Pending ones first, the
 * oldest due first, overdue ones highlighted, each with its two decisions; the latest decisions below. Everyone sees
 * those of the deals Pipedrive lets them see (the admin who installed sees all).
 */
export function ReviewsSection() {
  const pending = useResource('reviews-pending', () => api.reviews.list({ state: 'pending' }));
  const decided = useResource('reviews-decided', () => api.reviews.list({ state: 'decided', limit: DECIDED_SHOWN }));
  const reload = () => {
    void pending.reload();
    void decided.reload();
  };
  const waiting = pending.resource.data?.reviews ?? null;
  const done = decided.resource.data?.reviews ?? null;

  return (
    <section className="section" aria-labelledby="reviews-title" id="reviews">
      <div className="section-head">
        <h2 id="reviews-title">Possible opt-outs</h2>
      </div>
      <p className="field-note">
        Replies that may be a request to stop, such as “please stop texting me”. Automations do not text the number until someone decides; a
        decision is due within 10 business days.
      </p>
      {pending.resource.state === 'loading' && !waiting && (
        <p className="loading" role="status">
          Loading possible opt-outs…
        </p>
      )}
      {pending.resource.state === 'error' && <LoadError testId="reviews-error" error={pending.resource.error} what="Possible opt-outs" onRetry={reload} />}
      {waiting && waiting.length === 0 && (
        <p className="empty-state" data-testid="reviews-empty">
          No reply is waiting for a decision.
        </p>
      )}
      {waiting && waiting.length > 0 && (
        <ReviewTable label="Possible opt-outs waiting for a decision" testId="reviews-pending" reviews={waiting} onDecided={reload} />
      )}
      {done && done.length > 0 && (
        <>
          <h3 style={{ margin: '16px 0 6px', fontSize: 14 }}>Decided</h3>
          <ReviewTable label="Decided possible opt-outs" testId="reviews-decided" reviews={done} onDecided={reload} />
        </>
      )}
    </section>
  );
}

function ReviewTable(props: { label: string; testId: string; reviews: Review[]; onDecided: () => void }) {
  const pending = props.reviews[0]?.state === 'pending';
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label={props.label}>
      <table className="report" data-testid={props.testId}>
        <thead>
          <tr>
            <th scope="col">Number</th>
            <th scope="col">Reply</th>
            <th scope="col">Received</th>
            <th scope="col">{pending ? 'Due by' : 'Decision'}</th>
            <th scope="col">{pending ? <span className="visually-hidden">Decide</span> : 'When'}</th>
          </tr>
        </thead>
        <tbody>
          {props.reviews.map((r) => (
            <ReviewRow key={r.id} review={r} onDecided={props.onDecided} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ReviewRow({ review, onDecided }: { review: Review; onDecided: () => void }) {
  const overdue = review.state === 'pending' && isOverdue(review.dueBy);
  return (
    <tr data-testid="review-row" data-review-id={review.id} data-overdue={overdue} className={overdue ? 'review-row-overdue' : undefined}>
      <th scope="row">
        {review.phone}
        {review.dealId !== null && (
          <div style={MUTED} data-col="deal">
            Deal {review.dealId}
          </div>
        )}
      </th>
      <td className="review-text" data-col="body">
        {review.body}
      </td>
      <td>{when(review.receivedAt)}</td>
      {review.state === 'pending' ? (
        <>
          <td data-col="due" className={overdue ? 'review-overdue' : undefined}>
            {overdue && <>Overdue · </>}
            {dueText(review.dueBy)}
          </td>
          <td>
            <ReviewDecisionButtons reviewId={review.id} phone={review.phone} onDecided={() => onDecided()} />
          </td>
        </>
      ) : (
        <>
          <td data-col="decision">
            {review.decision === 'opt_out' ? 'Opted out' : 'Not an opt-out'}
            {review.decidedBy !== null && <div style={MUTED}>by user {review.decidedBy}</div>}
          </td>
          <td>{review.decidedAt ? when(review.decidedAt) : <span style={MUTED}>—</span>}</td>
        </>
      )}
    </tr>
  );
}
