"""Projects of an organization: created within the plan's limit, listed by keyset pages."""
