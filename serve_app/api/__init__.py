"""The HTTP/WebSocket API: app factory, routers, schemas, error mapping."""
