"""The mock's use of the spec's schemas: shaping records to a schema and checking values against
it (`synth.Schemas`), fake data (`synth.Synth`), and Connexion's document check remembered by
digest (`cache`). May import `core` and `flexprice_spec`."""
