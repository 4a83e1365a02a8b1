"""Incidents: INC tickets, their lifecycle, SLA clocks, queues, comments and satisfaction."""
