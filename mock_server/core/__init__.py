"""What every layer of the mock shares: the failures it raises in domain terms (`failures`) and
how instants and durations are written (`times`). Imports nothing of the mock."""
