// Pipedrive's activities, person fields and activity types as the API creates them, validated as Pipedrive does.
import { activityV2 } from './shapes.js';
import type { PdActivity, PdActivityType, PdPersonField } from './records.js';
import { FIELD_TYPES, ICON_KEYS, ApiError, isObject, optionalId, type AuthContext } from './internals.js';
import { PipedrivePersons } from './persons.js';

export class PipedriveActivities extends PipedrivePersons {

  protected createActivity(a: AuthContext, body: unknown): PdActivity {
    if (!isObject(body)) throw new ApiError(400, 'Request body must be a JSON object', { code: 'ERR_BAD_REQUEST' });
    // Verbatim behaviour of API v2 (devcommunity thread 19734): person_id is read-only on write.
    if ('person_id' in body) {
      throw new ApiError(400, "'person_id' is a read-only field. Add a primary participant to set 'person_id' instead.", { code: 'ERR_BAD_REQUEST' });
    }
    const bad = (msg: string): ApiError => new ApiError(400, msg, { code: 'ERR_BAD_REQUEST' });
    const types = this.activityTypes(a.company.id).filter((t) => t.active_flag);
    const typeKey = body.type ?? 'task';
    if (typeof typeKey !== 'string' || !types.some((t) => t.key_string === typeKey)) throw bad(`Invalid activity type: ${String(typeKey)}`);
    for (const key of ['done', 'busy'] as const) {
      if (key in body && typeof body[key] !== 'boolean') throw bad(`${key} must be a boolean`);
    }
    for (const key of ['subject', 'note', 'public_description', 'due_date', 'due_time', 'duration'] as const) {
      if (key in body && body[key] !== null && typeof body[key] !== 'string') throw bad(`${key} must be a string`);
    }
    if (typeof body.due_date === 'string' && !/^\d{4}-\d{2}-\d{2}$/.test(body.due_date)) throw bad('due_date must be YYYY-MM-DD');
    if (typeof body.due_time === 'string' && !/^\d{2}:\d{2}$/.test(body.due_time)) throw bad('due_time must be HH:MM');
    const dealId = optionalId(body, 'deal_id');
    if (dealId !== null) {
      const deal = this.dealMap.get(dealId);
      if (!deal || deal.companyId !== a.company.id) throw bad(`Deal with id ${dealId} not found`);
    }
    const orgId = optionalId(body, 'org_id');
    const ownerId = optionalId(body, 'owner_id') ?? a.user.id;
    if (!this.userMap.has(`${a.company.id}:${ownerId}`)) throw bad(`User with id ${ownerId} not found`);
    const participants: PdActivity['participants'] = [];
    if (body.participants !== undefined) {
      if (!Array.isArray(body.participants)) throw bad('participants must be an array');
      for (const p of body.participants) {
        if (!isObject(p) || typeof p.person_id !== 'number') throw bad('participants[].person_id must be a number');
        if (p.primary !== undefined && typeof p.primary !== 'boolean') throw bad('participants[].primary must be a boolean');
        const person = this.personMap.get(p.person_id);
        if (!person || person.companyId !== a.company.id) throw bad(`Person with id ${p.person_id} not found`);
        participants.push({ person_id: p.person_id, primary: p.primary === true });
      }
    }
    const primary = participants.find((p) => p.primary) ?? participants[0];
    const type = types.find((t) => t.key_string === typeKey);
    const now = this.isoNow();
    const done = body.done === true;
    const activity: PdActivity = {
      id: this.takeId('activity'),
      companyId: a.company.id,
      subject: typeof body.subject === 'string' ? body.subject : (type?.name ?? typeKey),
      type: typeKey,
      owner_id: ownerId,
      creator_user_id: a.user.id,
      deal_id: dealId,
      lead_id: typeof body.lead_id === 'string' ? body.lead_id : null,
      person_id: primary?.person_id ?? null,
      org_id: orgId,
      project_id: optionalId(body, 'project_id'),
      due_date: typeof body.due_date === 'string' ? body.due_date : now.slice(0, 10),
      due_time: typeof body.due_time === 'string' ? body.due_time : null,
      duration: typeof body.duration === 'string' ? body.duration : null,
      busy: body.busy === true,
      done,
      marked_as_done_time: done ? now : null,
      participants,
      public_description: typeof body.public_description === 'string' ? body.public_description : null,
      priority: typeof body.priority === 'number' ? body.priority : null,
      note: typeof body.note === 'string' ? body.note : null,
      add_time: now,
      update_time: now,
    };
    this.activityMap.set(activity.id, activity);
    const snap = { v2: activityV2(activity), v1: activityV2(activity) };
    this.background(this.fire(a.company.id, 'activity', 'create', activity.id, null, snap, a.user.id, 'api'));
    return activity;
  }


  protected createPersonFieldFromApi(a: AuthContext, body: unknown): PdPersonField {
    if (!isObject(body)) throw new ApiError(400, 'Request body must be a JSON object');
    if (typeof body.name !== 'string' || body.name.trim() === '') throw new ApiError(400, 'Name must be given');
    if (typeof body.field_type !== 'string' || !FIELD_TYPES.includes(body.field_type)) {
      throw new ApiError(400, `field_type must be one of ${FIELD_TYPES.join(', ')}`);
    }
    let options: Array<{ label: string }> | null = null;
    if (body.field_type === 'enum' || body.field_type === 'set') {
      if (!Array.isArray(body.options) || body.options.length === 0) throw new ApiError(400, 'Options must be given for enum and set fields');
      options = body.options.map((o: unknown) => {
        if (!isObject(o) || typeof o.label !== 'string' || o.label === '') throw new ApiError(400, 'Each option needs a label');
        return { label: o.label };
      });
    }
    return this.createPersonField(a.company.id, {
      name: body.name,
      field_type: body.field_type,
      options,
      createdBy: a.user.id,
      addVisible: body.add_visible_flag !== false,
    });
  }


  protected createActivityTypeFromApi(a: AuthContext, body: unknown): PdActivityType {
    if (!isObject(body)) throw new ApiError(400, 'Request body must be a JSON object');
    if (typeof body.name !== 'string' || body.name.trim() === '') throw new ApiError(400, 'Name must be given');
    if (typeof body.icon_key !== 'string' || !ICON_KEYS.includes(body.icon_key)) {
      throw new ApiError(400, `icon_key must be one of ${ICON_KEYS.join(', ')}`);
    }
    if (body.color !== undefined && body.color !== null && (typeof body.color !== 'string' || !/^[0-9a-f]{6}$/i.test(body.color))) {
      throw new ApiError(400, 'color must be a 6-character HEX color');
    }
    return this.createActivityType(a.company.id, body.name, body.icon_key, (body.color as string | undefined) ?? null, true);
  }
}
