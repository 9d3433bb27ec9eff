// Who may see a deal in the emulated Pipedrive, and the answer of `GET /v1/deals/{id}/permittedUsers`.
//
// Pipedrive decides by the deal's `visible_to`. Companies without visibility groups create deals as 3 ("entire
// company"), which is the emulator's default: every user of the company sees the deal. A deal set to 1 ("owner &
// followers") is seen by its owner, its followers and the company's admins (admins see everything). Visibility
// groups (5, 7) are not modelled and count as "entire company". Persons have a `visible_to` of their own in
// Pipedrive; here a person simply follows its deals: hidden from a user only when the user may see none of the
// person's deals and at least one of them is restricted, so the contact of a private deal stays private.
import type { PdDeal, PdPerson, PdUser } from './records.js';

export const VISIBLE_TO_OWNER_AND_FOLLOWERS = 1;
export const VISIBLE_TO_ENTIRE_COMPANY = 3;

export class DealPermissions {
  private readonly followers = new Map<number, Set<number>>();
  /** The restricted deals themselves, so a person's visibility is decided without walking every deal of the company. */
  private readonly restricted = new Map<number, PdDeal>();

  /** `null`: the whole company sees the deal again; a list: only the owner, these followers and the admins. */
  restrict(deal: PdDeal, followerIds: number[] | null): void {
    if (followerIds === null) {
      deal.visible_to = VISIBLE_TO_ENTIRE_COMPANY;
      this.followers.delete(deal.id);
      this.restricted.delete(deal.id);
      return;
    }
    deal.visible_to = VISIBLE_TO_OWNER_AND_FOLLOWERS;
    this.followers.set(deal.id, new Set(followerIds));
    this.restricted.set(deal.id, deal);
  }

  /** The ids `permittedUsers` answers: every user of the deal's company who may see it, ascending. */
  permittedUsers(deal: PdDeal, companyUsers: PdUser[]): number[] {
    return companyUsers.filter((u) => this.canSeeDeal(deal, u)).map((u) => u.id).sort((a, b) => a - b);
  }

  canSeeDeal(deal: PdDeal, user: PdUser): boolean {
    if (deal.companyId !== user.companyId) return false;
    if (deal.visible_to !== VISIBLE_TO_OWNER_AND_FOLLOWERS) return true;
    return user.isAdmin || deal.owner_id === user.id || (this.followers.get(deal.id)?.has(user.id) ?? false);
  }

  /**
   * `dealsOfPerson` lists the company's deals whose contact is this person; it is asked for only when one of them is
   * restricted (rarely), so the common read costs nothing however many deals the company has.
   */
  canSeePerson(person: PdPerson, user: PdUser, dealsOfPerson: () => PdDeal[]): boolean {
    if (person.companyId !== user.companyId) return false;
    const restrictedOfPerson = [...this.restricted.values()].some((d) => d.person_id === person.id && d.visible_to === VISIBLE_TO_OWNER_AND_FOLLOWERS);
    if (!restrictedOfPerson) return true;
    return dealsOfPerson().some((d) => this.canSeeDeal(d, user));
  }
}
