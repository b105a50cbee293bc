"""What every plot's mouse does: the wheel zooms time only, the right button opens the app's own menu.

pyqtgraph's wheel zooms both axes (a value curve vanishes after a few turns) and
its right-click menu is English ("View All", "Export…") with no way back to a
live or framed view. Here the value axis is never the mouse's: the plots fit it
to what is visible, so zooming into time spreads the dots apart. The menu
holds the plot's own actions, translated with the app: ``fitAction`` (both
axes as the plot would show them by itself), the lanes' ``wholeRunAction``
(shared by the plots linked to the lanes) and ``exportAction``, which emits
the plot's ``exportRequested`` for the window to open its export dialog.
"""

from __future__ import annotations

import weakref

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

_OWNERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # ViewBox → its plot widget


class PlotControls:
    """Mixin for a ``pg.PlotWidget`` with an ``exportRequested`` signal and a ``fit_view()`` method."""

    def _setup_controls(self) -> None:
        view = self.getPlotItem().getViewBox()
        view.setMouseEnabled(x=True, y=False)
        _OWNERS[view] = self
        # pyqtgraph looks the method up on the instance: its own menu (and the scene's "Export…") never shows
        raise_menu = weakref.WeakMethod(self._raise_menu)  # weak: no cycle from the ViewBox back to its plot
        view.raiseContextMenu = lambda event: (method := raise_menu()) is not None and method(event)
        self.fitAction = QAction(self)
        self.fitAction.setObjectName("fitAction")
        self.fitAction.triggered.connect(self.fit_view)
        self.exportAction = QAction(self)
        self.exportAction.setObjectName("exportAction")
        self.exportAction.triggered.connect(self.exportRequested.emit)
        self.context_menu = QMenu(self)
        self.context_menu.setObjectName("plotMenu")

    def _retranslate_controls(self) -> None:
        self.fitAction.setText(self.tr("Fit"))
        self.fitAction.setToolTip(self.tr("Show the run as a whole again: time and values fitted"))
        self.exportAction.setText(self.tr("Export…"))

    def master_plot(self):
        """The plot whose time axis this one follows (the lanes), or this plot."""
        linked = self.getPlotItem().getViewBox().linkedView(0)
        return _OWNERS.get(linked, self) if linked is not None else self

    def menu_actions(self) -> list[QAction]:
        """The actions of the context menu, in order (None: a separator)."""
        whole = getattr(self.master_plot(), "wholeRunAction", None)
        return [self.fitAction, *([whole] if whole is not None else []), None, self.exportAction]

    def build_menu(self) -> QMenu:
        self.context_menu.clear()
        for action in self.menu_actions():
            if action is None:
                self.context_menu.addSeparator()
            else:
                self.context_menu.addAction(action)
        return self.context_menu

    def _raise_menu(self, event) -> None:
        self.build_menu().popup(event.screenPos().toPoint())
