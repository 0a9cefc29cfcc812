import { forbidden, notFound } from './errors.ts';

/**
 * Who may do what to a document (CONTRACT.md section 2): the one rule that
 * routes, services, the autosave statement and the gateway all apply. The
 * lookup of a user's access stays in sql/queries/members.ts; this decides.
 */

/** A user's relation to a document: its owner, or a member with a role. */
export const ACCESS_LEVELS = ['owner', 'editor', 'viewer'] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

/** The roles the owner can give a member. */
export const MEMBER_ROLES = ['editor', 'viewer'] as const satisfies readonly Access[];
export type MemberRole = (typeof MEMBER_ROLES)[number];

/** What an action needs: to see the document, to change it, or to be its owner. */
export type Need = 'read' | 'edit' | 'own';

/** For each need, the access levels that meet it; a record over every need, so a new need must say who has it. */
export const ACCESS_FOR: { readonly [N in Need]: readonly Access[] } = {
  read: ['owner', 'editor', 'viewer'],
  edit: ['owner', 'editor'],
  own: ['owner'],
};

/** Whether `access` (null: none at all) meets `need`. */
export function allows(access: Access | null | undefined, need: Need): access is Access {
  return access != null && ACCESS_FOR[need].includes(access);
}

/**
 * Checks a user's access against what the action needs, and returns it.
 * No access at all is a 404 `not_found`, the same as a document that does
 * not exist (a stranger learns nothing); access that falls short is a 403
 * `forbidden` whose message is `refusal`.
 *
 * @example requireAccess(await findAccess(sql, id, userId), 'own', 'Only the owner can delete a document.')
 * @throws AppError not_found or forbidden.
 */
export function requireAccess(access: Access | null | undefined, need: Need, refusal = REFUSALS[need]): Access {
  if (access == null) throw notFound();
  if (!allows(access, need)) throw forbidden(refusal);
  return access;
}

const REFUSALS: { readonly [N in Need]: string } = {
  read: 'You cannot see this document.',
  edit: 'Viewers cannot change this document; ask its owner to make you an editor.',
  own: 'Only the owner can do this.',
};
