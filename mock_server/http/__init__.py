"""The HTTP layer: the app (`application`), the fast path to each operation (`dispatch`), the
request pipeline of each operation (`endpoint`), parameters and bodies, `Prefer`, fault rules and
scripted stubs, the error envelope (`errors`), the index at `/v1` (`index`), the proxy to a real
server (`proxy`), and handlers that translate a validated request into one backend call and
render its answer; Connexion's app behind the fast path (`connexion_app`, `routing`), built only
when a request needs it. May import `domain`, `storage`, `schemas`, `core`.
"""
