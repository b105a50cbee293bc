"""The desktop app (Qt): renders and controls; all logic lives in ``app.core``."""
