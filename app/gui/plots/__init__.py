"""pyqtgraph views of a run: activity lanes, shared values, CPU/memory."""
