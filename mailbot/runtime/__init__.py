"""The running service: the mail loop, delivery rounds and scheduled jobs."""
