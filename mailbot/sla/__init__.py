"""Service levels: the SLA clocks' escalation steps, the compliance report and its monthly mail."""
