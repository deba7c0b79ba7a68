"""Proactive alerts to the designated contacts of plans that include them."""
