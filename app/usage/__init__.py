"""Usage of the ERP: the events it posts (who used which module when) and their daily rollup.
This domain knows nothing of indicators; indicators and access reviews read its rollups."""
