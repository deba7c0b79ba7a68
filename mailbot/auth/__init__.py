"""Logging in to mail servers: passwords, or OAuth2 access tokens (SASL XOAUTH2 / OAUTHBEARER)."""
