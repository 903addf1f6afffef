"""The engine's API: an authenticated WebSocket (commands and events) and HTTP media endpoints.

``server.ApiServer`` runs it next to the engine. The protocol is described in
``docs/api/websocket.md`` and the HTTP endpoints in ``docs/api/openapi.json``
(``python -m vigil_engine.api.openapi`` prints the latter).
"""
