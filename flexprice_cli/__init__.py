"""The command-line conventions both programs share (`flexprice-mock`, `flexprice-contract`), so
they read as one family: `program.Program`. Imports nothing of the project."""
