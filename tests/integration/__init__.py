"""Tests that run against real servers (Dovecot, SMTP, PostgreSQL)."""
