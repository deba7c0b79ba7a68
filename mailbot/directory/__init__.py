"""The customer directory: accounts, their plan, contracts and designated contacts, loaded from files."""
