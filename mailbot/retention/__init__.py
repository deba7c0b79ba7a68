"""Retention and erasure: what raw mail is due for purging (pure) and the database work that purges or erases it."""
