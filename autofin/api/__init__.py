"""The entry API (FastAPI): one router per resource in routers/, the services in autofin.origination."""
