/**
 * Tandem's browser/Node helpers over supabase-js.
 */
export { eventsTopic, joinWorkspace, WorkspaceError, WORKSPACE_SERVER_EVENTS } from './workspace.ts';
export type {
  OnlineMember,
  PresencePayload,
  Workspace,
  WorkspaceHandlers,
  WorkspaceMember,
  WorkspaceOptions,
  WorkspaceServerEvent,
  WorkspaceServerEvents,
} from './workspace.ts';
export { acceptInvitation, acceptInvitationFromList, InvitationError, invitationTokenFromUrl, updateProfile } from './invitations.ts';
export type { JoinedProject } from './invitations.ts';
export type { Database, Json, Tables, TablesInsert, TablesUpdate, Enums } from './database.types.ts';
export { Constants } from './database.types.ts';
