"""Enhancement requests (ENH-...): what business users ask to change in the ERP, how the
product owner qualifies it, what the steering committee decides, and where it stands."""
