"""The mock's use of the spec's schemas: checking values against a schema and shaping records to
it (`checks.Schemas`), and fake data for what no request provides (`synth.Synth`). May import
`core` and `flexprice_spec`."""
