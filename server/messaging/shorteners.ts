// R5. Public shared shorteners are filtered by US carriers (Twilio error 30007 with no recourse); see
// ../shared/reference/twilio.md §6 for where this list comes from.
export const PUBLIC_SHORTENERS: readonly string[] = [
  'bit.ly', 'bitly.com', 'bit.do', 'tinyurl.com', 'tiny.cc', 'goo.gl', 'ow.ly', 'ht.ly', 'is.gd', 'v.gd', 't.co',
  'buff.ly', 'rebrand.ly', 'rb.gy', 'cutt.ly', 'shorturl.at', 't.ly', 'x.co', 's.id', 'lnkd.in', 'shorte.st',
  'adf.ly', 'bl.ink', 'soo.gd',
];

export type ShortenerLink = { link: string; host: string; shortener: string };

// A host is a run of dot-separated labels, optionally after a scheme ("https://", "HTTP://", "//") and userinfo;
// without a scheme, "name@bit.ly" is an e-mail address, not a link.
// The look-behind refuses a start in the middle of a word, a host or a path, so "mybit.ly.example" is one host and
// "example.com/bit.ly" is a path on example.com, not a link on bit.ly. Labels start with a letter or digit, as in
// DNS, so in "Link:-bit.ly/x" or "_bit.ly/x" the host is bit.ly, as a phone's link detection would read it.
const HOST_LIKE =
  /(?<![\p{L}\p{N}./@])(?:((?:[a-z][a-z0-9+.-]*:)?\/\/)(?:[^\s/?#@]+@)?)?((?:[\p{L}\p{N}][\p{L}\p{N}-]*\.)+[\p{L}\p{N}][\p{L}\p{N}-]*)(?![\p{L}\p{N}_-])/giu;

// Port, path, query and fragment after a host. They are not skipped when scanning, so a link nested with its own
// scheme ("example.com/go?to=https://bit.ly/x") is still found.
const REST_OF_LINK = /^(?::\d+)?[/?#]\S*/u;

// Sentence punctuation around a bare link is not part of it: "(bit.ly/x)." is the link "bit.ly/x".
const TRAILING_PUNCTUATION = /[.,;:!?)\]}'">]+$/u;

function shortenerFor(host: string): string | undefined {
  const bare = host.toLowerCase().replace(/^www\./u, '');
  // A subdomain of a shortener ("m.tiny.cc") is still the shortener; a longer name ("bit.lyrics.com") is not.
  return PUBLIC_SHORTENERS.find((domain) => bare === domain || bare.endsWith(`.${domain}`));
}

/** Every link in `text` whose host is a public shortener, with the shortener it is on. */
export function scanShortenerLinks(text: string): ShortenerLink[] {
  const found: ShortenerLink[] = [];
  for (const match of text.matchAll(HOST_LIKE)) {
    const host = match[2] ?? '';
    const shortener = shortenerFor(host);
    if (!shortener) continue;
    const end = match.index + match[0].length;
    const rest = REST_OF_LINK.exec(text.slice(end))?.[0] ?? '';
    const link = (match[0] + rest).replace(TRAILING_PUNCTUATION, '');
    found.push({ link, host, shortener });
  }
  return found;
}

/** The offending links as written (scheme and path included, surrounding punctuation not); empty when none. */
export function findShortenerLinks(text: string): string[] {
  return scanShortenerLinks(text).map((found) => found.link);
}

/** The distinct shortener domains used in `text` ("bit.ly"), for messages that name the host. */
export function findShortenerHosts(text: string): string[] {
  return [...new Set(scanShortenerLinks(text).map((found) => found.shortener))];
}
