"""The job processes: ``python -m workers worker|scheduler`` (the loops live in ``app.core``)."""
