"""The headless core: lessons, workers, event stream, runner, trace. Never imports Qt."""
