"""Catalogue: ERP modules, support groups, business calendars and SLA policies."""
