// No message may carry a link on a public shared shortener: US carriers filter them (Twilio error 30007, with no
// recourse). The list follows Twilio's messaging policy and public lists of shortener domains.
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
// A label has at most 63 characters (as in DNS) and a scheme at most 32: a failed match then rereads a bounded
// stretch, where unbounded runs let "a-a-a-…" be rescanned from every letter (quadratic time on hostile text).
const HOST_LIKE =
  /(?<![\p{L}\p{N}./@])(?:((?:[a-z][a-z0-9+.-]{0,31}:)?\/\/)(?:[^\s/?#@]+@)?)?((?:[\p{L}\p{N}][\p{L}\p{N}-]{0,62}\.)+[\p{L}\p{N}][\p{L}\p{N}-]{0,62})(?![\p{L}\p{N}_-])/giu;

// A port, path, query or fragment after a host: the link then runs to the next whitespace. They are not skipped
// when scanning, so a link nested with its own scheme ("example.com/go?to=https://bit.ly/x") is still found.
const PORT_OR_PATH = /(?::\d+)?[/?#]/uy;
const WHITESPACE = /\s/gu;

// Sentence punctuation around a bare link is not part of it: "(bit.ly/x)." is the link "bit.ly/x".
const TRAILING_PUNCTUATION: ReadonlySet<string> = new Set(".,;:!?)]}'\">");

function shortenerFor(host: string): string | undefined {
  const bare = host.toLowerCase().replace(/^www\./u, '');
  // A subdomain of a shortener ("m.tiny.cc") is still the shortener; a longer name ("bit.lyrics.com") is not.
  return PUBLIC_SHORTENERS.find((domain) => bare === domain || bare.endsWith(`.${domain}`));
}

/** Every link in `text` whose host is a public shortener, with the shortener it is on. */
export function scanShortenerLinks(text: string): ShortenerLink[] {
  const found: ShortenerLink[] = [];
  // Nested links share the same stretch up to the next whitespace: it is found, and its trailing punctuation
  // dropped, once for all of them, so many links in one long word still cost linear time.
  let word = { end: -1, kept: -1 };
  for (const match of text.matchAll(HOST_LIKE)) {
    const host = match[2] ?? '';
    const shortener = shortenerFor(host);
    if (!shortener) continue;
    const end = match.index + match[0].length;
    let linkEnd = end;
    PORT_OR_PATH.lastIndex = end;
    if (PORT_OR_PATH.test(text)) {
      if (word.end < end) word = wordEnding(text, end);
      // A host ends in a letter, digit or hyphen, never in punctuation, so the kept end is never before it.
      linkEnd = word.kept;
    }
    found.push({ link: text.slice(match.index, linkEnd), host, shortener });
  }
  return found;
}

function wordEnding(text: string, from: number): { end: number; kept: number } {
  WHITESPACE.lastIndex = from;
  const end = WHITESPACE.exec(text)?.index ?? text.length;
  let kept = end;
  while (kept > from && TRAILING_PUNCTUATION.has(text.charAt(kept - 1))) kept -= 1;
  return { end, kept };
}

/** The offending links as written (scheme and path included, surrounding punctuation not); empty when none. */
export function findShortenerLinks(text: string): string[] {
  return scanShortenerLinks(text).map((found) => found.link);
}

/** The distinct shortener domains used in `text` ("bit.ly"), for messages that name the host. */
export function findShortenerHosts(text: string): string[] {
  return [...new Set(scanShortenerLinks(text).map((found) => found.shortener))];
}
