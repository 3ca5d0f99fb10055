"""Members of an organization and the invitations that make them: roles, invite, accept, remove, leave."""
