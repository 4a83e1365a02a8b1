"""ERP access rights: roles, SoD rules, access requests, approvals, grants and review campaigns."""
