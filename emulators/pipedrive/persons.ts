// Pipedrive's persons: search by phone (as the v2 search endpoint matches) and the v2 patch with custom fields.
import type { EmulatorRequest } from '../http.js';
import { changedFields } from './webhook-shapes.js';
import type { PdPerson } from './records.js';
import { ApiError, contactEntries, isObject, badField, validateCustomValue, withoutUpdateTime, clampLimit, type AuthContext } from './internals.js';
import { PipedriveWebhooks } from './webhooks.js';

export class PipedrivePersons extends PipedriveWebhooks {

  protected searchPersons(req: EmulatorRequest, a: AuthContext): unknown[] {
    const term = req.query.term ?? '';
    const exact = req.query.exact_match === 'true' || req.query.exact_match === '1';
    if (term.length < (exact ? 1 : 2)) {
      throw new ApiError(400, 'term must be at least 2 characters long (1 when exact_match is used)', { code: 'ERR_BAD_REQUEST' });
    }
    const allowed = ['custom_fields', 'email', 'notes', 'phone', 'name'];
    const fields = req.query.fields ? req.query.fields.split(',').map((f) => f.trim()) : allowed;
    for (const f of fields) {
      if (!allowed.includes(f)) throw new ApiError(400, `fields must be one of ${allowed.join(', ')}`, { code: 'ERR_BAD_REQUEST' });
    }
    const lower = term.toLowerCase();
    const digits = term.replace(/\D/g, '');
    const text = (value: string | null | undefined): number => {
      if (!value) return 0;
      const v = value.toLowerCase();
      if (v === lower) return 1;
      return !exact && v.includes(lower) ? 0.5 : 0;
    };
    // Phone search compares digits only, so "+1 (415) 555-2671" and "14155552671" are the same number;
    // without exact_match a fragment of the digits matches too.
    const phone = (value: string): number => {
      const d = value.replace(/\D/g, '');
      if (!digits || !d) return 0;
      if (d === digits) return 1;
      return !exact && d.includes(digits) ? 0.5 : 0;
    };
    const results: Array<{ result_score: number; item: Record<string, unknown> }> = [];
    for (const p of this.persons(a.company.id)) {
      let score = 0;
      if (fields.includes('name')) score = Math.max(score, text(p.name));
      if (fields.includes('email')) for (const e of p.emails) score = Math.max(score, text(e.value));
      if (fields.includes('phone')) for (const ph of p.phones) score = Math.max(score, phone(ph.value));
      if (fields.includes('notes')) score = Math.max(score, text(p.notes));
      const matchedCustom: string[] = [];
      if (fields.includes('custom_fields')) {
        for (const v of Object.values(p.custom_fields)) {
          if (typeof v === 'string' && text(v) > 0) {
            score = Math.max(score, text(v));
            matchedCustom.push(v);
          }
        }
      }
      if (score === 0) continue;
      results.push({
        result_score: score,
        item: {
          id: p.id,
          type: 'person',
          name: p.name,
          phones: p.phones.map((x) => x.value),
          emails: p.emails.map((x) => x.value),
          visible_to: p.visible_to,
          owner: { id: p.owner_id },
          organization: null,
          custom_fields: matchedCustom,
          notes: p.notes ? [p.notes] : [],
        },
      });
    }
    results.sort((x, y) => y.result_score - x.result_score || (x.item.id as number) - (y.item.id as number));
    return results.slice(0, clampLimit(req.query.limit));
  }


  protected patchPerson(a: AuthContext, id: number, body: unknown): PdPerson {
    const person = this.ownPerson(a, id);
    if (!isObject(body)) throw new ApiError(400, 'Request body must be a JSON object', { code: 'ERR_BAD_REQUEST' });
    const before = this.personSnapshot(person);
    const fields = this.fieldsOf(a.company.id);
    const next = structuredClone(person);
    for (const [key, value] of Object.entries(body)) {
      switch (key) {
        case 'name':
        case 'first_name':
        case 'last_name':
        case 'notes':
          if (value !== null && typeof value !== 'string') throw badField(key, 'a string');
          next[key] = value as string;
          break;
        case 'owner_id':
          if (typeof value !== 'number' || !this.userMap.has(`${a.company.id}:${value}`)) throw badField(key, 'an existing user id');
          next.owner_id = value;
          break;
        case 'org_id':
          if (value !== null && typeof value !== 'number') throw badField(key, 'a number');
          next.org_id = value as number | null;
          break;
        case 'visible_to':
          if (typeof value !== 'number') throw badField(key, 'a number');
          next.visible_to = value;
          break;
        case 'phones':
        case 'emails':
          if (!Array.isArray(value) || !value.every((e) => isObject(e) && typeof e.value === 'string')) {
            throw badField(key, 'an array of {value, primary, label}');
          }
          next[key] = contactEntries(value as Array<{ value: string; primary?: boolean; label?: string }>, key === 'phones' ? 'mobile' : 'work');
          break;
        case 'custom_fields':
          if (!isObject(value)) throw badField(key, 'an object');
          for (const [fieldKey, fieldValue] of Object.entries(value)) {
            const field = fields.find((f) => f.key === fieldKey && f.isCustom);
            if (!field) throw new ApiError(400, `Unknown custom field: ${fieldKey}`, { code: 'ERR_BAD_REQUEST' });
            validateCustomValue(field, fieldValue);
            next.custom_fields[fieldKey] = fieldValue;
          }
          break;
        default:
          // API v2 validates strictly; unknown top-level keys are refused rather than silently dropped.
          throw new ApiError(400, `Unknown parameter: ${key}`, { code: 'ERR_BAD_REQUEST' });
      }
    }
    if ('first_name' in body || 'last_name' in body) {
      if (!('name' in body)) next.name = [next.first_name, next.last_name].filter(Boolean).join(' ');
    }
    next.update_time = this.isoNow();
    const after = this.personSnapshot(next);
    if (changedFields(withoutUpdateTime(before.v2), withoutUpdateTime(after.v2)) === null) {
      // Nothing but the timestamp would change: Pipedrive keeps the record as is and fires nothing.
      return person;
    }
    Object.assign(person, next);
    this.background(this.fire(a.company.id, 'person', 'change', person.id, before, after, a.user.id, 'api'));
    return person;
  }
}
