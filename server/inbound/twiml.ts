/**
 * The TwiML answer to an inbound message: `<Response/>`, or one `<Message>` per text the app must send back itself
 * (keyword confirmations and help Twilio does not send). Built here rather than with the SDK's MessagingResponse
 * because only `twilio/` may import the SDK, and two elements do not need it.
 */
export function messagingResponse(replies: readonly string[]): string {
  const head = '<?xml version="1.0" encoding="UTF-8"?>';
  if (replies.length === 0) return `${head}<Response/>`;
  return `${head}<Response>${replies.map((text) => `<Message>${escapeXml(text)}</Message>`).join('')}</Response>`;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}
