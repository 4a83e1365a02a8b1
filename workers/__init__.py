"""RQ entry points: run domain jobs inside an application context, one transaction each."""
