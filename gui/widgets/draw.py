"""Draw a digit or shape with the mouse, or load an image, and ask the network about it."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from cyconv.lab.i18n import tr

CANVAS_SIZE = 224


def qimage_to_array(image: QtGui.QImage, input_shape: tuple) -> np.ndarray:
    """A QImage scaled to the network's (C, H, W) input: float32 in [0, 1], grey for C = 1.

    Qt's smooth scaling averages the canvas down to H x W (like the datasets' anti-aliasing).
    """
    channels, height, width = input_shape
    if channels not in (1, 3):
        raise ValueError(f"qimage_to_array: the network takes {channels} channels; only 1 (grey) or 3 (RGB) "
                         "can come from an image")
    scaled = image.scaled(width, height, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                          QtCore.Qt.TransformationMode.SmoothTransformation)
    fmt = QtGui.QImage.Format.Format_Grayscale8 if channels == 1 else QtGui.QImage.Format.Format_RGB888
    converted = scaled.convertToFormat(fmt)
    row_bytes = converted.bytesPerLine()
    buffer = np.frombuffer(converted.constBits(), dtype=np.uint8, count=row_bytes * height)
    pixels = buffer.reshape(height, row_bytes)[:, :width * channels].reshape(height, width, channels)
    return (np.transpose(pixels, (2, 0, 1)).astype(np.float32) / 255.0).copy()


class Canvas(QtWidgets.QWidget):
    """White strokes on black, like the digit datasets; `drawn` is emitted on mouse release."""

    drawn = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFixedSize(CANVAS_SIZE, CANVAS_SIZE)
        self.image = QtGui.QImage(CANVAS_SIZE, CANVAS_SIZE, QtGui.QImage.Format.Format_RGB32)
        self.brush = 18
        self._last = None
        self.clear()

    def clear(self) -> None:
        self.image.fill(QtGui.QColor("black"))
        self.update()

    def set_image(self, image: QtGui.QImage) -> None:
        self.image = image.scaled(CANVAS_SIZE, CANVAS_SIZE).convertToFormat(QtGui.QImage.Format.Format_RGB32)
        self.update()

    def stroke(self, points) -> None:
        """Draw a polyline through canvas `points` [(x, y), ...] (mouse moves, or tests)."""
        painter = QtGui.QPainter(self.image)
        pen = QtGui.QPen(QtGui.QColor("white"), self.brush, QtCore.Qt.PenStyle.SolidLine,
                         QtCore.Qt.PenCapStyle.RoundCap, QtCore.Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        for start, end in zip(points, points[1:]):
            painter.drawLine(QtCore.QPointF(*start), QtCore.QPointF(*end))
        if len(points) == 1:
            painter.drawPoint(QtCore.QPointF(*points[0]))
        painter.end()
        self.update()

    def mousePressEvent(self, event) -> None:
        self._last = (event.position().x(), event.position().y())
        self.stroke([self._last])

    def mouseMoveEvent(self, event) -> None:
        if self._last is None:
            return
        point = (event.position().x(), event.position().y())
        self.stroke([self._last, point])
        self._last = point

    def mouseReleaseEvent(self, event) -> None:
        self._last = None
        self.drawn.emit()

    def paintEvent(self, event) -> None:
        painter = QtGui.QPainter(self)
        painter.drawImage(0, 0, self.image)
        painter.end()


class DrawView(QtWidgets.QWidget):
    """`predict_requested(array (C, H, W))` goes to the worker; `show_prediction` shows the answer."""

    predict_requested = QtCore.Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.canvas = Canvas()
        self.canvas.drawn.connect(self.request_prediction)
        self.clear_button, self.load_button, self.predict_button = (QtWidgets.QPushButton(), QtWidgets.QPushButton(),
                                                                    QtWidgets.QPushButton())
        self.brush = QtWidgets.QSpinBox()
        self.brush.setRange(2, 60)
        self.brush.setValue(self.canvas.brush)
        self.brush.valueChanged.connect(lambda value: setattr(self.canvas, "brush", value))
        self.brush_label, self.hint, self.result, self.error = (QtWidgets.QLabel(), QtWidgets.QLabel(),
                                                                QtWidgets.QLabel(), QtWidgets.QLabel())
        self.hint.setWordWrap(True)
        self.error.setStyleSheet("color: #c00000;")
        self.result.setStyleSheet("font-size: 14pt;")
        self.probabilities = pg.PlotWidget(background="w")
        self.probabilities.setYRange(0.0, 1.0)
        self.probabilities.setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=(214, 39, 40))
        self.probabilities.addItem(self.bars)
        self.clear_button.clicked.connect(self.canvas.clear)
        self.load_button.clicked.connect(self._load)
        self.predict_button.clicked.connect(self.request_prediction)
        self.input_shape: tuple | None = None
        self.classes: tuple = ()
        buttons = QtWidgets.QHBoxLayout()
        for widget in (self.clear_button, self.load_button, self.predict_button, self.brush_label, self.brush):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        left = QtWidgets.QVBoxLayout()
        left.addWidget(self.canvas)
        left.addLayout(buttons)
        left.addWidget(self.hint)
        left.addWidget(self.error)
        left.addStretch(1)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(self.result)
        right.addWidget(self.probabilities, 1)
        layout = QtWidgets.QHBoxLayout(self)
        layout.addLayout(left)
        layout.addLayout(right, 1)
        self.retranslate()

    def retranslate(self) -> None:
        self.clear_button.setText(tr("draw.clear"))
        self.load_button.setText(tr("draw.load"))
        self.predict_button.setText(tr("draw.predict"))
        self.brush_label.setText(tr("draw.brush"))
        self.hint.setText(tr("draw.hint"))

    def set_network(self, input_shape: tuple, classes: tuple) -> None:
        self.input_shape, self.classes = tuple(input_shape), tuple(classes)

    def request_prediction(self) -> None:
        if self.input_shape is None or len(self.input_shape) != 3:
            self.error.setText(tr("draw.no_model"))
            return
        try:
            array = qimage_to_array(self.canvas.image, self.input_shape)
        except ValueError as error:
            self.error.setText(str(error))
            return
        self.error.setText("")
        self.predict_requested.emit(array)

    def _load(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, tr("draw.load"), "",
                                                        "Images (*.png *.jpg *.jpeg *.bmp *.gif *.pgm *.ppm)")
        if path:
            self.load_file(path)

    def load_file(self, path: str) -> bool:
        image = QtGui.QImage(path)
        if image.isNull():
            self.error.setText(tr("draw.bad_image", path=path))
            return False
        self.canvas.set_image(image)
        self.request_prediction()
        return True

    def show_prediction(self, probabilities: np.ndarray) -> None:
        probabilities = np.asarray(probabilities)
        best = int(np.argmax(probabilities))
        name = self.classes[best] if best < len(self.classes) else str(best)
        self.result.setText(tr("draw.result", label=name, confidence=float(probabilities[best])))
        self.bars.setOpts(x=np.arange(probabilities.size), height=probabilities, width=0.7)
        self.probabilities.setXRange(-0.5, probabilities.size - 0.5)
        if probabilities.size <= 12:
            self.probabilities.getAxis("bottom").setTicks([list(enumerate(self.classes))])
