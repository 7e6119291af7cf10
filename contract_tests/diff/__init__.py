"""`flexprice-contract diff`: what changed between two versions of an OpenAPI document, and whom
each change breaks.

`comparison.Comparison` walks the two documents; one module per family of rules (`operations`,
`security`, `parameters`, `bodies`, `responses`, `schemas`, `values`, `constraints`,
`composition`, `lifecycle`) declares its rules in `rules.RULES` and checks them. `sources` reads
a spec from a file, git or a URL with the files its `$ref`s reach; `policy` applies a team's
levels and exceptions; `report` renders the result; `catalog` renders the rule table;
`command` is the console command.
"""
from __future__ import annotations

from .comparison import Change, Comparison
from .rules import RULES, Rule

__all__ = ["RULES", "Change", "Comparison", "Rule"]
