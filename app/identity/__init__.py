"""Identity: users, their roles (some scoped to an ERP module), login and API tokens."""
