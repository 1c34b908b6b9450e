"""Subscribers and their personal data: encryption, contacts, plans, privacy rights, audit."""
