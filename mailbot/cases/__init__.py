"""Working cases: engineers, commands, relays, closing, reopening, inactivity, and read-only case views."""
